"""Each reward-hacking signature, injected into a synthetic run at a known step, is flagged
by the default rules within DETECTION_WINDOW steps; clean runs flag nothing."""

from __future__ import annotations

import pytest
from tests.support.monitor_runs import SIGNATURES, write_run

from rewardsmith.monitor import DEFAULT_RULES, monitor
from rewardsmith.monitor.rules import DETECTION_WINDOW

INJECT_AT = 10


def test_at_least_four_signatures_are_exercised():
    assert len(SIGNATURES) >= 4
    assert set(SIGNATURES) <= {r.signal for r in DEFAULT_RULES}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_clean_run_flags_nothing(tmp_path, seed):
    result = monitor(write_run(tmp_path, steps=30, seed=seed))
    assert result.alarms == []
    # every rule has its value at every step: no gap, no rule left unevaluated
    assert result.missing == [] and result.not_evaluated == []
    assert len(result.steps) == 30 and all(s.samples == 128 for s in result.steps)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_an_injected_signature_is_flagged_within_the_window(tmp_path, signature, seed):
    paths = write_run(tmp_path, steps=20, seed=seed, signature=signature, inject_at=INJECT_AT)
    alarms = monitor(paths).alarms
    mine = [a for a in alarms if a["signal"] == signature]
    assert mine, f"{signature} not flagged: {alarms}"
    first = mine[0]["step"]
    assert INJECT_AT <= first < INJECT_AT + DETECTION_WINDOW, mine
    # Nothing at all before the injection: the same steps as the clean run.
    assert all(a["step"] >= INJECT_AT for a in alarms), alarms


def test_the_signature_shows_in_its_statistic(tmp_path):
    steps = monitor(write_run(tmp_path, steps=14, signature="length_padding",
                              inject_at=INJECT_AT)).steps
    before = [s.length_reward_corr for s in steps[: INJECT_AT - 1]]
    after = steps[-1].length_reward_corr
    assert all(abs(c) < 0.3 for c in before) and after > 0.6
    assert steps[-1].mean_response_chars > 1.5 * steps[0].mean_response_chars


def test_saturation_names_the_component_and_spares_a_healthy_binary_check(tmp_path):
    result = monitor(write_run(tmp_path, steps=16, signature="component_saturation",
                               inject_at=INJECT_AT))
    saturation = [a for a in result.alarms if a["signal"] == "component_saturation"]
    assert [a["key"] for a in saturation] == ["correct"]
    # format_ok gives 1.0 to ~95% of samples from the start: high, but not new.
    assert result.steps[0].components["format_ok"].saturated_share > 0.9


def test_a_persisting_signature_is_reported_once(tmp_path):
    result = monitor(write_run(tmp_path, steps=20, signature="group_spread_collapse",
                               inject_at=5))
    collapse = [a for a in result.alarms if a["signal"] == "group_spread_collapse"]
    assert len(collapse) == 1
    assert all(s.zero_variance_group_share == 1.0 for s in result.steps[7:])
