"""The engine's finishing estimate (issue 10 C follow-up): measured per scorer, a probe on a
cold scorer, then learnt from batches; rises at once, falls by halves."""

from __future__ import annotations

import pytest

from rewardsmith.core.finish_costs import FinishCosts


def test_nothing_measured_means_no_reserve_of_its_own() -> None:
    costs = FinishCosts()
    assert not costs.known
    assert costs.reserve(1000) is None
    assert costs.scoring(3e-5) == 3e-5  # cold: scoring assumed to cost what reading did


def test_a_probe_that_raises_leaves_the_estimate_unknown() -> None:
    costs = FinishCosts()

    def build(i: int) -> object:
        raise ValueError("a probe that cannot run")

    costs.probe(build, 64)
    assert not costs.known


def test_a_probe_sets_a_positive_estimate_with_its_safety() -> None:
    costs = FinishCosts()
    built: list[int] = []
    costs.probe(built.append, 64)
    assert built == list(range(64)) * 3  # three passes over the probe
    assert costs.known
    reserve = costs.reserve(1000)
    assert reserve is not None and reserve > 0
    assert costs.safety == 4.0


def test_a_learnt_figure_rises_at_once_and_falls_by_halves() -> None:
    costs = FinishCosts()
    costs.learn(1000, 0.02)  # 20 us per result
    assert costs.reserve(1000) == pytest.approx(1000 * 20e-6 * 1.5)
    costs.learn(1000, 0.04)  # slower: taken at once
    assert costs.reserve(1000) == pytest.approx(1000 * 40e-6 * 1.5)
    costs.learn(1000, 0.02)  # faster: half way down
    assert costs.reserve(1000) == pytest.approx(1000 * 30e-6 * 1.5)
    costs.learn(10, 10.0)  # too few results to say anything
    assert costs.reserve(1000) == pytest.approx(1000 * 30e-6 * 1.5)


def test_scoring_and_tail_costs_are_learnt() -> None:
    costs = FinishCosts()
    costs.learn_scoring(1000, 0.1)
    assert costs.scoring(1.0) == pytest.approx(1e-4 * 1.5)
    costs.learn_scoring(1000, 0.05)
    assert costs.scoring(1.0) == pytest.approx(0.75e-4 * 1.5)
    costs.learn_tail(1000, 0.1)
    assert costs.tail_s == pytest.approx(1e-4 * 1.5)
