"""The pack loads, and the golden cases in cases.jsonl score as expected.

Needs this package installed (``pip install -e ../rewardsmith-example-check -e .``): the
``bullet-count`` check comes from the example-check distribution, and the ``read_seconds``
metric is registered by this distribution's ``register_metric_functions`` hook.
The ``rewardsmith_*`` fixtures come from rewardsmith's pytest plugin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rewardsmith import load_pack, parse_sample
from rewardsmith.core.wire import jsonl_row

from rewardsmith_example_pack.metrics import estimated_read_seconds

PACK = "support-steps-lite"
CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def test_pack_is_registered_and_valid(rewardsmith_host: Any) -> None:
    assert rewardsmith_host.rubric_packs[PACK].distribution == "rewardsmith-example-pack"
    pack = load_pack(PACK, rewardsmith_host)
    assert (pack.name, pack.version) == (PACK, "0.1.0")


def test_read_seconds(rewardsmith_sample: Any) -> None:
    sample = parse_sample(rewardsmith_sample(" ".join(["word"] * 238)), 0)
    assert estimated_read_seconds(sample) == pytest.approx(60.0)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_golden_case(case: dict[str, Any], rewardsmith_scorer: Any,
                     rewardsmith_sample: Any) -> None:
    scorer = rewardsmith_scorer(PACK)
    sample = dict(case["sample"])
    [result] = scorer.score([rewardsmith_sample(sample.pop("response"), **sample)]).results
    expect = case["expect"]
    report = json.dumps(jsonl_row(result), indent=2)
    assert result.status == expect.get("status", "ok"), report
    assert expect["min"] <= result.reward <= expect["max"], report
    for component_id, value in expect.get("components", {}).items():
        assert result.components[component_id].value == pytest.approx(value), report
