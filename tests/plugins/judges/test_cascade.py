"""The cascade judge against the OpenAI simulator: the strong model is called only for
samples the cheap one scored inside the band, could not parse, or judged differently in
the two criteria orders (the server's own request log counts calls per model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.judge_models import (
    calls_per_model,
    passes_listed,
    per_model,
    sample,
    sim_pack,
)
from tests.support.judges import read_blocks

from rewardsmith import Scorer
from rewardsmith.core.errors import PackError

CRITERIA = """criteria = [
  { id = "a", pass_if = "A holds." }, { id = "b", pass_if = "B holds." },
  { id = "c", pass_if = "C holds." }, { id = "d", pass_if = "D holds." },
]"""


def _component(extra: str = "") -> str:
    return f"""
[[components]]
id = "judge"
type = "cascade-judge"
first = {{ model = "small" }}
second = {{ model = "big" }}
{CRITERIA}
{extra}
"""


def _score(tmp_path: Path, settings: dict[str, Any], component: str,
           samples: list[dict[str, Any]]) -> Any:
    scorer = Scorer(sim_pack(tmp_path, settings, component))
    try:
        return scorer.score(samples, timeout_s=60)
    finally:
        scorer.close()


def _everything(_candidate: str) -> dict[str, bool]:
    return dict.fromkeys("abcd", True)


def test_second_judge_is_called_only_inside_the_band(tmp_path: Path, openai_simulator: Any,
                                                     openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(per_model({"small": passes_listed, "big": _everything}))
    responses = ["ok: a b c d", "ok:", "ok: a b", "ok: a", "ok: a b c"]
    batch = _score(tmp_path, openai_judge_settings, _component("band = [0.3, 0.7]"),
                   [sample(r, f"s{k}") for k, r in enumerate(responses)])
    # small scored 1, 0, 0.5, 0.25, 0.75: only 0.5 lies in [0.3, 0.7]
    assert calls_per_model(openai_simulator) == {"small": 5, "big": 1}
    outcomes = [r.components["judge"] for r in batch.results]
    assert [o.value for o in outcomes] == [1.0, 0.0, 1.0, 0.25, 0.75]
    assert [o.measurements["cascade_escalated"] for o in outcomes] == [0, 0, 1, 0, 0]
    escalated = outcomes[2]
    assert escalated.measurements["cascade_first_value"] == 0.5
    assert escalated.measurements["judge_calls"] == 2  # both calls are paid for
    assert escalated.details["cascade"] == {"escalated": True, "reason": "in_band",
                                            "first_model": "small", "final_model": "big"}
    big = [r for r in openai_simulator.requests if r.model == "big"]
    assert "ok: a b" in big[0].body["messages"][-1]["content"]


def test_band_edges_are_inclusive(tmp_path: Path, openai_simulator: Any,
                                  openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(per_model({"small": passes_listed, "big": _everything}))
    responses = ["ok: a", "ok: a b c", "ok: a b c d"]
    _score(tmp_path, openai_judge_settings, _component("band = [0.25, 0.75]"),
           [sample(r, f"s{k}") for k, r in enumerate(responses)])
    assert calls_per_model(openai_simulator) == {"small": 3, "big": 2}


def test_a_parse_failure_of_the_first_judge_escalates(tmp_path: Path, openai_simulator: Any,
                                                      openai_judge_settings: Any) -> None:
    rubric = per_model({"small": passes_listed, "big": _everything})

    def policy(request: Any) -> Any:
        if request.model == "small" and "garbled" in request.text:  # repair turn too
            return "I think it is fine overall."  # never a JSON verdict
        return rubric(request)

    openai_simulator.set_policy(policy)
    batch = _score(tmp_path, openai_judge_settings, _component("band = [0.4, 0.6]"),
                   [sample("garbled ok: a", "bad"), sample("ok: a b c d", "good")])
    bad, good = (r.components["judge"] for r in batch.results)
    assert bad.error is None and bad.value == 1.0
    assert bad.details["cascade"]["reason"] == "parse_failure:judge_parse"
    assert "cascade_first_value" not in bad.measurements
    # the cheap model got its one repair turn before the cascade gave up on it
    assert calls_per_model(openai_simulator) == {"small": 3, "big": 1}
    assert good.measurements["cascade_escalated"] == 0


def test_parse_failure_fails_the_sample_when_escalation_is_off(
        tmp_path: Path, openai_simulator: Any, openai_judge_settings: Any) -> None:
    openai_simulator.set_policy(lambda _request: "no verdict here")
    batch = _score(tmp_path, openai_judge_settings,
                   _component("escalate_on_parse_failure = false"), [sample("ok: a", "s")])
    assert batch.results[0].components["judge"].error_kind == "judge_parse"
    assert calls_per_model(openai_simulator) == {"small": 2}


def test_order_disagreement_escalates(tmp_path: Path, openai_simulator: Any,
                                      openai_judge_settings: Any) -> None:
    def policy(request: Any) -> Any:
        order = request.schema["required"]
        candidate = read_blocks(request.last_user_text)["candidate"]
        if request.model == "small" and "fickle" in candidate:
            # passes whichever criterion it reads first: the verdict moves with the order
            return {cid: {"rationale": "r", "verdict": "pass" if k == 0 else "fail"}
                    for k, cid in enumerate(order)}
        return per_model({"small": passes_listed, "big": _everything})(request)

    openai_simulator.set_policy(policy)
    batch = _score(tmp_path, openai_judge_settings,
                   _component("band = [0.45, 0.55]\ncheck_orders = true"),
                   [sample("fickle", "f"), sample("ok: a b c d", "steady")])
    fickle, steady = (r.components["judge"] for r in batch.results)
    assert fickle.details["cascade"]["reason"] == "order_disagreement"
    assert fickle.value == 1.0
    assert steady.measurements["cascade_escalated"] == 0
    assert calls_per_model(openai_simulator) == {"small": 4, "big": 1}
    orders = [r.body["response_format"]["json_schema"]["schema"]["required"]
              for r in openai_simulator.requests if r.model == "small"]
    assert sorted(map(tuple, orders)) == sorted([("a", "b", "c", "d"), ("d", "c", "b", "a")]
                                                * 2)


@pytest.mark.parametrize(("extra", "message"), [
    ('band = [0.8, 0.2]', "band must be"),
])
def test_bad_cascade_config_fails_the_pack(tmp_path: Path, openai_judge_settings: Any,
                                           extra: str, message: str) -> None:
    with pytest.raises(PackError, match=message):
        sim_pack(tmp_path, openai_judge_settings, _component(extra))


def test_a_bad_second_judge_table_fails_at_load(tmp_path: Path,
                                                openai_judge_settings: Any) -> None:
    component = _component().replace('second = { model = "big" }',
                                     'second = { model = "big", temprature = 0 }')
    with pytest.raises(PackError, match="temprature"):
        sim_pack(tmp_path, openai_judge_settings, component)


@pytest.mark.parametrize("second", ['{ model = "small" }',
                                    '{ model = "small", max_retries = 1 }'])
def test_a_second_judge_one_call_would_answer_fails_at_load(
        tmp_path: Path, openai_judge_settings: Any, second: str) -> None:
    """The escalation to identical settings is the first request again, answered with the
    first verdict by the de-duplication or the cache (s5 tester F8's kind)."""
    component = _component().replace('second = { model = "big" }', f"second = {second}")
    with pytest.raises(PackError, match="'first' and 'second' have the same judge settings"):
        sim_pack(tmp_path, openai_judge_settings, component)


def test_the_cascade_works_the_same_on_bedrock(tmp_path: Path, converse_simulator: Any,
                                               bedrock_judge_settings: Any) -> None:
    converse_simulator.set_policy(per_model({"small": passes_listed, "big": _everything}))
    batch = _score(tmp_path, bedrock_judge_settings, _component("band = [0.3, 0.7]"),
                   [sample("ok: a b c d", "sure"), sample("ok: a b", "unsure")])
    assert calls_per_model(converse_simulator) == {"small": 2, "big": 1}
    assert [r.components["judge"].value for r in batch.results] == [1.0, 1.0]
