"""Property: the Lambda handler, on any JSON event (arbitrary values, sample-shaped lists,
wrapped lists, API-Gateway bodies), never raises and answers one row per sample it finds,
in order, each with a finite reward and the id the id rule gives (issue 10)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.aws_lambda import BASIC_PACK

from rewardsmith import Scorer, load_pack
from rewardsmith.aws_lambda import make_handler
from rewardsmith.aws_lambda.events import WRAPPER_KEYS, extract_samples
from rewardsmith.aws_lambda.observability import MetricsConfig
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.wire import item_id, wire_id

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=5),
    max_leaves=25,
)
ROLES = st.sampled_from(["user", "assistant", "system", "tool", "", "Assistant"])
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES | JSON, "content": st.text(max_size=40) | JSON},
    optional={"tool_calls": JSON, "name": JSON},
)
SAMPLE = st.fixed_dictionaries(
    {},
    optional={"id": st.text(max_size=10) | st.integers() | JSON,
              "messages": st.lists(MESSAGE, max_size=4) | JSON,
              "reference_answer": JSON, "metadata": JSON},
)
BATCH = st.lists(SAMPLE | JSON, max_size=12)
EVENT = (
    BATCH
    | st.builds(lambda key, batch: {key: batch}, st.sampled_from(WRAPPER_KEYS), BATCH)
    | st.builds(lambda batch: {"body": json.dumps(batch)}, BATCH)
    | JSON
)
SETTINGS = settings(max_examples=1000, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def handler(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.aws_lambda import make_test_host

    host: PluginHost = make_test_host()
    path: Path = tmp_path_factory.mktemp("pack") / "pack.toml"
    path.write_text(BASIC_PACK, encoding="utf-8")
    scorer = Scorer(load_pack(path, host))
    yield make_handler(scorer, metrics=MetricsConfig(enabled=False))
    scorer.close()


def _check(handler: Callable[..., Any], event: Any) -> None:
    out = handler(event, None)
    assert isinstance(out, list)
    items = extract_samples(event).items
    assert len(out) == len(items)
    for i, (row, item) in enumerate(zip(out, items, strict=True)):
        expected = wire_id(item_id(item, i))
        if expected is not None:  # "id": null is answered by position (issue 10, kind J)
            assert row["id"] == expected
    for row in out:
        reward = row["aggregate_reward_score"]
        assert isinstance(reward, float) and math.isfinite(reward)
        for metric in row["metrics_list"]:
            assert math.isfinite(metric["value"])
    json.dumps(out, allow_nan=False)  # the runtime can encode it


@SETTINGS
@given(event=EVENT)
def test_any_json_event_gets_a_finite_reward_per_sample(handler: Any, event: Any) -> None:
    _check(handler, event)


PLAIN_ID_SAMPLE = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE, max_size=4) | JSON},
    optional={"id": st.text(max_size=10) | st.integers(-(2**53), 2**53),
              "reference_answer": JSON, "metadata": JSON},
)


@settings(SETTINGS, max_examples=500)
@given(batch=st.lists(PLAIN_ID_SAMPLE, min_size=1, max_size=12))
def test_sample_lists_answer_their_own_ids_in_order(handler: Any, batch: list[Any]) -> None:
    out = handler(batch, None)
    # independent of the id rule's code: a text or integer id comes back as given, a
    # missing one as the sample's position
    assert [row["id"] for row in out] == [s.get("id", i) for i, s in enumerate(batch)]
    _check(handler, batch)
