"""``rewardsmith packs test`` reports how the jurors of a jury judge agree (with the
correlation of their errors against the suite's labels) and the position bias of a
listwise judge, from real calls to the OpenAI simulator (``--backend pack``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support.judge_models import named_in, per_model
from tests.support.judges import read_blocks

from .conftest import sample, write_suite

PACK = """\
[pack]
name = "multi-judge-suite"
version = "0.1.0"

[judge]
backend = "openai"
model = "m1"
base_url = "{base_url}"
retry_base_delay_s = 0.005

[[components]]
id = "jury"
type = "jury-judge"
jurors = [{{ model = "m1" }}, {{ model = "m2" }}, {{ model = "m3" }}]
criteria = [{{ id = "ok", pass_if = "The answer is right." }}]

[[components]]
id = "listwise"
type = "listwise-judge"
orders = 2

[tests]
suite = "cases.jsonl"
"""


def _policy() -> Any:
    rubric = per_model({m: named_in(m) for m in ("m1", "m2", "m3")})

    def policy(request: Any) -> Any:
        if "scores" not in request.schema["properties"]:
            return rubric(request)
        blocks = read_blocks(request.last_user_text)
        scores = {}
        for name, text in blocks.items():
            if name.startswith("candidate_"):
                found = re.search(r"q=(\d)", text)
                quality = int(found.group(1)) if found else 0
                scores[name] = min(10, quality + (4 if name == "candidate_1" else 0))
        return {"rationale": "first slot favoured", "scores": scores}

    return policy


def _golden(name: str, text: str, label: bool) -> dict[str, Any]:
    return {"kind": "golden", "name": name, "sample": sample(text),
            "expect": {"labels": {"jury": label}}}


@pytest.mark.usefixtures("openai_simulator")
def test_packs_test_reports_juror_agreement_and_position_bias(
        tmp_path: Path, run_cli: Any, openai_simulator: Any) -> None:
    openai_simulator.set_policy(_policy())
    cases = [_golden("all", "m1 m2 m3", True), _golden("two", "m1 m2", False),
             _golden("m3", "m3", False), _golden("none", "none", False),
             {"kind": "pair", "name": "pair", "better": sample("q=8"),
              "worse": sample("q=3")}]
    pack = write_suite(tmp_path / "pack", cases,
                       pack=PACK.format(base_url=openai_simulator.base_url))
    result = run_cli(str(pack), "--json")
    report = json.loads(result.output)
    health = report["judges"]["components"]
    # Rows: the four goldens, then the pair (every juror fails "q=8" and "q=3").
    # m1 = m2 = (1,1,0,0,0,0), m3 = (1,0,1,0,0,0); labels (1,0,0,0,-,-).
    pairs = health["jury"]["jury"]["pairs"]
    assert pairs["m1|m2"]["agreement"] == 1.0 and pairs["m1|m2"]["kappa"] == 1.0
    # m1 vs m3 agree on 4 of 6; chance (1/3)^2 + (2/3)^2 = 5/9 -> kappa (2/3-5/9)/(4/9)
    assert pairs["m1|m3"]["agreement"] == pytest.approx(2 / 3)
    assert pairs["m1|m3"]["kappa"] == pytest.approx(1 / 4)
    # values: cov sum 1 - 6*(1/9) = 1/3, var sums 2 - 6/9 = 4/3 -> r = 1/4
    assert pairs["m1|m3"]["value_correlation"] == pytest.approx(1 / 4)
    # errors on labelled rows: m1 (0,1,0,0), m3 (0,0,1,0) -> r = -1/3; m1, m2 err alike
    assert pairs["m1|m3"]["error_correlation"] == pytest.approx(-1 / 3)
    assert pairs["m1|m2"]["error_correlation"] == pytest.approx(1.0)
    # The pair was judged in both orders; the first slot got +4 each time:
    # first slot (8+4 -> 10, 3+4 = 7), last slot (3, 8)
    bias = health["listwise"]["position_bias"]
    assert bias["first_slot_mean"] == pytest.approx(0.85)
    assert bias["last_slot_mean"] == pytest.approx(0.55)
    assert bias["first_minus_last"] == pytest.approx(0.3)

    text = run_cli(str(pack)).output
    assert "position bias: first slot 0.850 vs last 0.550" in text
    assert "jurors m1|m3: agreement=0.667 kappa=0.250 error_correlation=-0.333" in text


LISTWISE_PACK = """\
[pack]
name = "listwise-suite"
version = "0.1.0"

[judge]
backend = "openai"
model = "judge-model"
base_url = "http://127.0.0.1:9/v1"

[[components]]
id = "rank"
type = "listwise-judge"
orders = 2

[tests]
suite = "cases.jsonl"
"""


def test_the_simulated_judge_answers_listwise_requests_from_case_verdicts(
        tmp_path: Path, run_cli: Any) -> None:
    cases = [
        {"kind": "pair", "name": "fair", "better": sample("Replace the washer."),
         "worse": sample("Call someone."),
         "verdicts": {"better": {"rank": {"score": 8}}, "worse": {"rank": {"score": 3}}}},
        {"kind": "pair", "name": "biased", "better": sample("Shut the valve first."),
         "worse": sample("Ignore it."),
         "verdicts": {"better": {"rank": {"score": 6, "position_bias": True}},
                      "worse": {"rank": {"score": 2}}}},
    ]
    pack = write_suite(tmp_path / "pack", cases, pack=LISTWISE_PACK)
    result = run_cli(str(pack), "--backend", "simulator", "--json")
    report = json.loads(result.output)
    assert result.exit_code == 0, result.output
    rewards = [c["rewards"] for c in report["cases"]]
    assert rewards[0] == {"better": 0.8, "worse": 0.3}
    # biased: each response is first once (10) and second once (its score)
    assert rewards[1] == {"better": pytest.approx(0.8), "worse": pytest.approx(0.6)}
    bias = report["judges"]["components"]["rank"]["position_bias"]
    # first slot: 0.8, 0.3 (fair), 1.0, 1.0 (biased); last: 0.3, 0.8, 0.6, 0.2
    assert bias["first_slot_mean"] == pytest.approx((0.8 + 0.3 + 1.0 + 1.0) / 4)
    assert bias["last_slot_mean"] == pytest.approx((0.3 + 0.8 + 0.6 + 0.2) / 4)
