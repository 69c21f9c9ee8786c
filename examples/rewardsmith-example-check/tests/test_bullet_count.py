"""Unit tests: build the component from its Config and call it directly.

``rewardsmith_sample`` and ``rewardsmith_host_factory`` come from rewardsmith's pytest
plugin, loaded automatically wherever rewardsmith is installed.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from rewardsmith import ComponentContext, PluginHost, parse_sample

import rewardsmith_example_check
from rewardsmith_example_check.bullets import BulletCount


def score(rewardsmith_sample: Any, text: str, **config: Any) -> Any:
    component = BulletCount(BulletCount.Config(id="steps", **config), ComponentContext())
    return component.score(parse_sample(rewardsmith_sample(text), 0))


@pytest.mark.parametrize(
    ("text", "bullets", "passed"),
    [
        ("- Restart the app.\n- Sign in again.", 2, True),
        ("1. Open settings\n2. Tap Reset\n3) Confirm", 3, True),
        ("Just restart the app.", 0, False),
        ("```\n- not a step\n```\n- a step", 1, False),
    ],
)
def test_counts_items_outside_code(rewardsmith_sample: Any, text: str, bullets: int,
                                   passed: bool) -> None:
    result = score(rewardsmith_sample, text, min=2)
    assert (result.measurements["bullets"], result.passed) == (bullets, passed)


def test_upper_bound(rewardsmith_sample: Any) -> None:
    text = "\n".join(f"- step {i}" for i in range(5))
    assert score(rewardsmith_sample, text, min=1, max=4).value == 0.0
    assert score(rewardsmith_sample, text, min=1, max=5).value == 1.0


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError, match="smaller than min"):
        BulletCount.Config(id="steps", min=3, max=1)
    with pytest.raises(ValidationError, match="maximum"):
        BulletCount.Config(id="steps", maximum=3)


def test_registers_through_the_plugin_hook(rewardsmith_host_factory: Any) -> None:
    host: PluginHost = rewardsmith_host_factory(
        plugins=[("example_check", rewardsmith_example_check)]
    )
    assert host.components["bullet-count"].value is BulletCount
