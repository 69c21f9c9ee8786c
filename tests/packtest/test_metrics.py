"""Agreement, position inconsistency, parse failures and distributions, checked against
numbers worked out by hand."""

from __future__ import annotations

import json

import pytest

from rewardsmith.packtest.metrics import agreement, distribution

from .conftest import sample, write_suite

# Expected labels vs what the judge says, for 10 answers:
#   expected  T T T T T T F F F F
#   observed  T T T T F F F F F T
# p_o = 7/10; marginals expected T6/F4, observed T5/F5 -> p_e = (6*5 + 4*5)/100 = 0.5;
# kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
EXPECTED = [True] * 6 + [False] * 4
OBSERVED = [True] * 4 + [False] * 5 + [True]


def test_kappa_and_accuracy_by_hand():
    result = agreement(list(zip(EXPECTED, OBSERVED, strict=True)))
    assert result.n == 10
    assert result.accuracy == pytest.approx(0.7)
    assert result.kappa == pytest.approx(0.4)


def test_kappa_three_categories_and_degenerate_cases():
    # levels 1/2/3: p_o = 4/6; expected marginals 1:2 2:2 3:2, observed 1:1 2:3 3:2
    # p_e = (2*1 + 2*3 + 2*2) / 36 = 1/3; kappa = (2/3 - 1/3) / (2/3) = 0.5
    pairs = [(1, 1), (1, 2), (2, 2), (2, 2), (3, 3), (3, 2)]
    result = agreement(pairs)
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.kappa == pytest.approx(0.5)
    assert agreement([(True, True), (True, True)]).kappa is None  # chance agreement is 1
    assert agreement([]).accuracy is None
    assert agreement([(True, False), (False, True)]).kappa == pytest.approx(-1.0)


def test_distribution():
    dist = distribution([0.0, 1.0, 0.5, 0.5])
    assert (dist["n"], dist["min"], dist["max"], dist["mean"]) == (4, 0.0, 1.0, 0.5)
    assert dist["median"] == 0.5 and dist["std"] == pytest.approx(0.3535534, rel=1e-6)


def _labelled_cases():
    cases = []
    for i, (want, said) in enumerate(zip(EXPECTED, OBSERVED, strict=True)):
        cases.append({
            "kind": "golden", "name": f"answer-{i}",
            "sample": sample(f"Answer number {i}: tighten the valve."),
            "expect": {"reward": [0.0, 1.0], "labels": {"review.actionable": want}},
            # The first five comparisons come from a judge that always picks slot A.
            "verdicts": {"review": {"actionable": "pass" if said else "fail"},
                         "cmp": {"winner": "A", "position_bias": i < 5}},
        })
    return cases


def test_agreement_and_position_inconsistency_through_the_runner(tmp_path, run_cli):
    pack = write_suite(tmp_path / "pack", _labelled_cases())
    result = run_cli(str(pack), "--backend", "simulator", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["agreement"]["n"] == 10
    assert report["agreement"]["accuracy"] == pytest.approx(0.7)
    assert report["agreement"]["kappa"] == pytest.approx(0.4)
    assert report["agreement"]["by_label"]["review.actionable"]["kappa"] == pytest.approx(0.4)
    judges = report["judges"]["components"]
    # 5 of the 10 comparisons disagreed between the two orders.
    assert judges["cmp"]["position_inconsistency"] == pytest.approx(0.5)
    assert judges["review"]["position_inconsistency"] is None
    assert report["judges"]["parse_failure_rate"] == 0.0
    assert report["judges"]["cost_per_sample_usd"] > 0
    rewards = {c["name"]: c["rewards"]["reward"] for c in report["cases"]}
    # review 1/0, cmp: biased -> tie 0.5, consistent "A" -> candidate wins 1.0
    assert rewards["answer-0"] == pytest.approx(0.75)   # pass, tie
    assert rewards["answer-4"] == pytest.approx(0.25)   # fail, tie
    assert rewards["answer-9"] == pytest.approx(1.0)    # pass, win
    assert rewards["answer-5"] == pytest.approx(0.5)    # fail, win


def test_parse_failure_rate(tmp_path, run_cli):
    cases = [
        {"kind": "golden", "name": "garbled", "sample": sample("Use a wrench."),
         "expect": {"components": {"review": {"passed": False}}},
         "verdicts": {"review": {"malformed": True}, "cmp": {"winner": "tie"}}},
        {"kind": "golden", "name": "fine", "sample": sample("Call a plumber."),
         "expect": {"components": {"review": {"passed": True}}}},
    ]
    pack = write_suite(tmp_path / "pack", cases)
    result = run_cli(str(pack), "--backend", "simulator", "--json")
    report = json.loads(result.output)
    review = report["judges"]["components"]["review"]
    assert review["parse_failures"] == 1 and review["parse_failure_rate"] == 0.5
    assert review["errors"] == {"judge_parse": 1}
    assert report["judges"]["components"]["cmp"]["parse_failure_rate"] == 0.0
    assert report["judges"]["parse_failure_rate"] == pytest.approx(0.25)  # 1 of 4 outcomes
    # The garbled case expected the review to pass=False; an errored judge has no verdict.
    garbled = next(c for c in report["cases"] if c["name"] == "garbled")
    assert not garbled["passed"]
    assert "expected review.passed = False, observed None" in garbled["failures"][0]
    assert result.exit_code == 1
