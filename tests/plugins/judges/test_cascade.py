"""Cascades (issue 13): a cheap first judge and a strong second one, asked only when the
first is uncertain (its score in the declared band) or its verdict is unusable. Each judge
is its own Converse simulator, which counts the calls it gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewardsmith import Scorer, load_pack
from rewardsmith.simulators import ConverseSimulator
from rewardsmith.simulators.faults import VerdictRequest


def _pack(tmp_path: Path, cheap: ConverseSimulator, strong: ConverseSimulator,
          band: str = "[0.25, 0.75]") -> Path:
    path = tmp_path / "cascade.toml"
    path.write_text(f"""
[pack]
name = "cascade"
version = "1"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-20b-1:0"
region = "us-east-1"
endpoint_url = "{cheap.endpoint_url}"
cache_path = ""
max_retries = 0

[[components]]
id = "review"
type = "rubric-judge"
criteria = [{{ id = "polite", pass_if = "The answer is polite." }},
            {{ id = "correct", pass_if = "The answer is correct." }}]

[components.cascade]
band = {band}
judge = {{ model = "openai.gpt-oss-120b-1:0", endpoint_url = "{strong.endpoint_url}" }}
""", encoding="utf-8")
    return path


def _sample(sid: str, response: str) -> dict[str, Any]:
    return {"id": sid, "messages": [{"role": "user", "content": "Help?"},
                                    {"role": "assistant", "content": response}]}


def _all_pass(request: VerdictRequest) -> dict[str, Any]:
    assert request.schema is not None
    return {cid: {"rationale": "the strong judge's view", "verdict": "pass"}
            for cid in request.schema["properties"]}


def _score(path: Path, samples: list[dict[str, Any]]) -> Any:
    scorer = Scorer(load_pack(str(path)))
    try:
        return scorer.score(samples)
    finally:
        scorer.close()


def test_the_second_judge_is_asked_only_in_the_band(
    tmp_path: Path, converse_simulator: ConverseSimulator,
) -> None:
    with ConverseSimulator() as strong:
        strong.set_policy(_all_pass)
        samples = [_sample("sure", "Yes. [[PASS]]"), _sample("wrong", "No. [[FAIL]]"),
                   _sample("half1", "Maybe. [[PASS:polite]] [[FAIL:correct]]"),
                   _sample("half2", "Perhaps. [[FAIL:polite]] [[PASS:correct]]")]
        batch = _score(_pack(tmp_path, converse_simulator, strong), samples)
        assert converse_simulator.request_count == 4
        assert strong.request_count == 2  # only the two samples the first judge put at 0.5
    by_id = {r.id: r for r in batch.results}
    assert by_id["sure"].reward == 1.0 and by_id["wrong"].reward == 0.0
    for sid in ("half1", "half2"):
        outcome = by_id[sid].components["review"]
        assert outcome.value == 1.0  # the strong judge's verdict, not the first one's 0.5
        assert outcome.measurements["cascade_escalated"] == 1
        assert outcome.measurements["judge_calls"] == 2
        assert outcome.details["cascade"]["why"] == "first judge 0.500 in band"
    assert by_id["sure"].components["review"].measurements["cascade_escalated"] == 0


def test_an_unusable_first_verdict_goes_to_the_second_judge(
    tmp_path: Path, converse_simulator: ConverseSimulator,
) -> None:
    converse_simulator.set_policy(lambda _request: "")  # empty answers: judge_parse
    with ConverseSimulator() as strong:
        strong.set_policy(_all_pass)
        batch = _score(_pack(tmp_path, converse_simulator, strong, band="[0.4, 0.6]"),
                       [_sample("a", "Hello.")])
        assert strong.request_count == 1
    outcome = batch.results[0].components["review"]
    assert outcome.error is None and outcome.value == 1.0
    assert outcome.details["cascade"]["why"] == "first judge: judge_parse"
