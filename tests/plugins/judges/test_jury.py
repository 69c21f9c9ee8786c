"""Juries (issue 13): several judges per component, their verdicts aggregated by majority
or mean, their agreement reported. Each juror is its own Converse simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rewardsmith import Scorer, load_pack
from rewardsmith.simulators import ConverseSimulator
from rewardsmith.simulators.faults import VerdictRequest


def _pack(tmp_path: Path, own: ConverseSimulator, others: list[ConverseSimulator],
          aggregation: str) -> Path:
    jurors = ", ".join(f'{{ model = "juror-{i}", endpoint_url = "{sim.endpoint_url}" }}'
                       for i, sim in enumerate(others))
    path = tmp_path / "jury.toml"
    path.write_text(f"""
[pack]
name = "jury"
version = "1"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"
region = "us-east-1"
endpoint_url = "{own.endpoint_url}"
cache_path = ""

[[components]]
id = "review"
type = "rubric-judge"
criteria = [{{ id = "polite", pass_if = "The answer is polite." }},
            {{ id = "correct", pass_if = "The answer is correct." }}]

[components.jury]
aggregation = "{aggregation}"
judges = [{jurors}]
""", encoding="utf-8")
    return path


def _always(verdict: str) -> Callable[[VerdictRequest], dict[str, Any]]:
    def policy(request: VerdictRequest) -> dict[str, Any]:
        assert request.schema is not None
        return {cid: {"rationale": f"always {verdict}", "verdict": verdict}
                for cid in request.schema["properties"]}
    return policy


def _sample(sid: str, response: str) -> dict[str, Any]:
    return {"id": sid, "messages": [{"role": "user", "content": "Help?"},
                                    {"role": "assistant", "content": response}]}


@pytest.mark.parametrize("aggregation", ["majority", "mean"])
def test_a_jury_of_three(tmp_path: Path, converse_simulator: ConverseSimulator,
                         aggregation: str) -> None:
    # Juror 0 follows the markers in the text, juror 1 always passes, juror 2 always fails.
    with ConverseSimulator() as yes, ConverseSimulator() as no:
        yes.set_policy(_always("pass"))
        no.set_policy(_always("fail"))
        scorer = Scorer(load_pack(str(_pack(tmp_path, converse_simulator, [yes, no],
                                             aggregation))))
        try:
            batch = scorer.score([_sample("all", "Sure. [[PASS]]"),
                                  _sample("half", "Hm. [[PASS:polite]] [[FAIL:correct]]")])
        finally:
            scorer.close()
        assert (converse_simulator.request_count, yes.request_count, no.request_count) == \
            (2, 2, 2)
    by_id = {r.id: r.components["review"] for r in batch.results}
    # Votes, "all": polite [pass, pass, fail], correct [pass, pass, fail]; of the three
    # juror pairs one agrees on each criterion: agreement 1/3.
    # Votes, "half": polite [pass, pass, fail] (1/3), correct [fail, pass, fail] (1/3).
    assert by_id["all"].measurements["jury_agreement"] == pytest.approx(1 / 3)
    assert by_id["half"].measurements["jury_agreement"] == pytest.approx(1 / 3)
    assert by_id["all"].measurements["jurors"] == 3
    assert by_id["all"].measurements["judge_calls"] == 3
    assert by_id["half"].details["jury"]["votes"]["correct"] == ["fail", "pass", "fail"]
    if aggregation == "majority":
        assert by_id["all"].value == 1.0  # both criteria pass 2 to 1
        assert by_id["half"].value == 0.5  # polite passes 2-1, correct fails 2-1
    else:
        # Juror scores: "all" 1.0, 1.0, 0.0; "half" 0.5, 1.0, 0.0.
        assert by_id["all"].value == pytest.approx(2 / 3)
        assert by_id["half"].value == pytest.approx(0.5)


def test_a_component_has_a_cascade_or_a_jury(tmp_path: Path,
                                             converse_simulator: ConverseSimulator) -> None:
    from rewardsmith.core.errors import PackError

    path = _pack(tmp_path, converse_simulator, [converse_simulator], "majority")
    path.write_text(path.read_text() + "\n[components.cascade]\njudge = { model = \"x\" }\n")
    with pytest.raises(PackError, match="either a cascade or a jury"):
        load_pack(str(path))
