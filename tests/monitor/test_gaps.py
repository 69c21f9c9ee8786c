"""A step where a watched value is undefined is a gap (tester finding 8, as a kind): it
neither clears nor re-raises an alarm, the alarm state carries across it, and the gap is
reported per step. A rule no step can evaluate is reported, not silently skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.monitor_runs import write_gap_run, write_lambda_step, write_run

from rewardsmith.monitor import DEFAULT_RULES, monitor
from rewardsmith.monitor.rules import Rule, assess, load_rules
from rewardsmith.monitor.steps import ComponentStats, Distribution, StepStats


def test_a_step_without_the_component_does_not_raise_the_alarm_again(tmp_path):
    result = monitor(write_gap_run(tmp_path, gap="absent"))
    assert "j" not in result.steps[4].components
    # Before the fix: step 4 and again step 6 (the same onset, re-raised after the gap).
    assert [(a["step"], a["signal"], a.get("key")) for a in result.alarms] == [
        (4, "component_saturation", "j")]
    step5 = {m["metric"]: m for m in result.missing if m["step"] == 5}
    assert step5["components.j.saturated_share"] == {
        "step": 5, "signal": "missing", "metric": "components.j.saturated_share", "key": "j",
        "rules": ["component_saturation"],
        "message": "components.j.saturated_share is undefined at this step: no row of this "
                   "step has component 'j' (watched by component_saturation; alarm state "
                   "carried across the gap)"}
    # j was the only judge: with it gone there are no judge outcomes to rate either.
    assert sorted(step5) == ["components.j.saturated_share", "judge_check_corr",
                             "parse_failure_rate", "refusal_rate"]
    assert step5["parse_failure_rate"]["message"].startswith(
        "parse_failure_rate is undefined at this step: needs judge outcomes (no judge ran)")
    # A saturated judge is a constant side: the judge-check correlation is blind from step
    # 4 on, and each of those steps says so.
    assert [m["step"] for m in result.missing if m["metric"] == "judge_check_corr"] == [
        4, 5, 6, 7]
    assert all(m["step"] == 5 for m in result.missing if m["metric"] != "judge_check_corr")


def test_a_step_where_the_component_failed_everywhere_is_a_gap_too(tmp_path):
    result = monitor(write_gap_run(tmp_path, gap="failed"))
    assert result.steps[4].components["j"].values.n == 0
    assert [(a["step"], a["signal"], a.get("key")) for a in result.alarms] == [
        (4, "component_saturation", "j"), (5, "judge_parse_failures", None)]
    gap = next(m for m in result.missing if m["metric"] == "components.j.saturated_share")
    assert gap["step"] == 5
    assert gap["message"].startswith(
        "components.j.saturated_share is undefined at this step: component 'j' has no value "
        "in this step (32 outcome(s) failed, the rest skipped or failed samples)")


def _series(values: list[float | None], metric: str = "refusal_rate") -> list[StepStats]:
    steps = []
    for i, v in enumerate(values, 1):
        st = StepStats(step=i, path=f"s{i}", source="rows", samples=10)
        setattr(st, metric, v)
        steps.append(st)
    return steps


RATE = Rule(name="r", signal="sig", metric="refusal_rate", above=0.1)


@pytest.mark.parametrize(("values", "onsets"), [
    ([0.2, None, 0.3], [1]),              # holding, gap, holding: one alarm
    ([0.2, None, None, 0.3], [1]),        # a longer gap
    ([0.2, None, 0.0, 0.3], [1, 4]),      # the gap carries, then it clears and comes back
    ([0.0, None, 0.3], [3]),              # clear, gap, holding: the onset is after the gap
    ([None, 0.3, 0.4], [2]),              # a gap before the first value
    ([0.2, None], [1]),
])
def test_a_gap_carries_the_alarm_state(values, onsets):
    found = assess([RATE], _series(values))
    assert [a["step"] for a in found.alarms] == onsets
    assert [m["step"] for m in found.missing] == [i for i, v in enumerate(values, 1)
                                                  if v is None]


def test_a_gap_carries_across_a_window_and_a_trend():
    rule = Rule(name="t", signal="sig", metric="refusal_rate", rise=0.2, baseline_steps=2,
                window=2)
    found = assess([rule], _series([0.0, 0.0, 0.5, None, 0.6, 0.0, 0.0, 0.5]))
    # step 3: mean(0, 0.5) = 0.25 rises 0.25; step 5: window over the gap is 0.6 alone;
    # step 6: mean(0.6, 0) = 0.3 holds; 7 clears; 8: mean(0, 0.5) holds again.
    assert [a["step"] for a in found.alarms] == [3, 8]
    assert [m["step"] for m in found.missing] == [4]


def test_one_rule_of_a_signal_undefined_is_not_a_gap_when_another_is_defined():
    a = Rule(name="a", signal="sig", metric="refusal_rate", above=0.1)
    b = Rule(name="b", signal="sig", metric="parse_failure_rate", above=0.1)
    steps = _series([0.5, None, None, 0.5])
    for st, parse in zip(steps, [0.0, 0.0, None, 0.0], strict=True):
        st.parse_failure_rate = parse
    found = assess([a, b], steps)
    # step 2: b is defined and does not hold, a has no value: the signal cleared there.
    # step 3: neither has a value: a gap. So step 4 is a new onset.
    assert [a["step"] for a in found.alarms] == [1, 4]
    assert [(m["step"], m["metric"]) for m in found.missing] == [
        (2, "refusal_rate"), (3, "parse_failure_rate"), (3, "refusal_rate")]


def test_per_component_gaps_are_per_key():
    steps = []
    for i, comps in enumerate([{"a": 0.1, "b": 0.1}, {"a": 0.1, "b": 0.1},
                               {"a": 0.1, "b": 0.1}, {"a": 0.95, "b": 0.1}, {"b": 0.1},
                               {"a": 0.95, "b": 0.1}], 1):
        st = StepStats(step=i, path="p", source="rows", samples=10)
        for cid, share in comps.items():
            st.components[cid] = ComponentStats(cid, "t", False, Distribution.of([1.0]),
                                                share, None, {})
        steps.append(st)
    rule = next(r for r in DEFAULT_RULES if r.signal == "component_saturation")
    found = assess([rule], steps)
    assert [(a["step"], a["key"]) for a in found.alarms] == [(4, "a")]
    assert [(m["step"], m["key"], m["metric"]) for m in found.missing] == [
        (5, "a", "components.a.saturated_share")]


# -- rules that no step can evaluate --------------------------------------------------------
def _lambda_run(tmp_path: Path, steps: int = 4) -> list[Path]:
    return [write_lambda_step(tmp_path / f"lam{i}.log", [
        {"samples": 2, "reward_mean": 1.0, "reward_std": 0.0, "judge_calls": 2,
         "failures": {"judge_refused": 2 if i > 1 else 0}}]) for i in range(1, steps + 1)]


def test_a_criterion_rule_on_lambda_logs_is_reported_not_silent(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "correct"\nsignal = "criterion"\n'
                     'metric = "criteria.q.correct"\nbelow = 0.5\n', encoding="utf-8")
    result = monitor(_lambda_run(tmp_path), load_rules(rules))
    assert result.alarms == [] and result.missing == []
    assert result.not_evaluated == [{
        "rule": "correct", "signal": "criterion", "metric": "criteria.q.correct",
        "reason": "no step has criterion 'q.correct': the step is reward-Lambda log lines, "
                  "which carry per-invocation figures only (no samples, components or "
                  "criteria)"}]


def test_the_default_rules_on_lambda_logs_say_which_cannot_run(tmp_path):
    result = monitor(_lambda_run(tmp_path))
    assert [(a["step"], a["signal"]) for a in result.alarms] == [(2, "judge_refusals")]
    assert [e["rule"] for e in result.not_evaluated] == [
        "length_padding", "judge_check_divergence", "component_saturation",
        "group_spread_collapse", "swap_inconsistency_rising", "swap_inconsistency_high"]
    assert all("reward-Lambda log lines, which carry per-invocation figures only" in e["reason"]
               for e in result.not_evaluated)


def test_a_misspelt_criterion_or_component_names_what_the_run_has(tmp_path):
    paths = write_run(tmp_path / "run", steps=4)
    rules = (Rule(name="acc", signal="criterion", metric="criteria.judge.acurate", below=0.2),
             Rule(name="cor", signal="component", metric="components.corect.mean", above=2),
             Rule(name="ok", signal="criterion", metric="criteria.judge.accurate", above=0.0))
    result = monitor(paths, rules)
    assert result.not_evaluated == [
        {"rule": "acc", "signal": "criterion", "metric": "criteria.judge.acurate",
         "reason": "no step has criterion 'judge.acurate' (did you mean 'judge.accurate'?); "
                   "the run has 'judge.accurate', 'judge.concise'"},
        {"rule": "cor", "signal": "component", "metric": "components.corect.mean",
         "reason": "no step has component 'corect' (did you mean 'correct'?); the run has "
                   "'correct', 'format_ok', 'judge'"}]
    # the correctly spelt one is evaluated: one criterion, watched on its own
    assert [(a["step"], a["rule"], a["key"]) for a in result.alarms] == [
        (1, "ok", "judge.accurate")]


def test_a_rule_with_no_value_of_its_own_is_named(tmp_path):
    paths = write_run(tmp_path / "run", steps=4)
    result = monitor(paths)
    # no pairwise judge in the run? it has one (position_inconsistency): every default runs
    assert result.not_evaluated == []
    swapless = monitor(paths, (Rule(name="pass", signal="s", metric="components.*.pass_rate",
                                    above=2.0),
                               Rule(name="swap", signal="s2", metric="judge_check_corr",
                                    fall=0.1, baseline_steps=4)))
    assert swapless.not_evaluated == [
        {"rule": "swap", "signal": "s2", "metric": "judge_check_corr",
         "reason": "the run has 4 step(s): a rise/fall rule is evaluated only after its "
                   "baseline, the first 4 steps"}]


def test_a_trend_without_a_baseline_for_one_key_is_reported():
    steps = []
    for i in range(1, 7):
        st = StepStats(step=i, path="p", source="rows", samples=10)
        st.components["old"] = ComponentStats("old", "t", False, Distribution.of([0.5]), 0.1,
                                              None, {})
        if i >= 4:  # a component that appears after the baseline
            st.components["new"] = ComponentStats("new", "t", False, Distribution.of([1.0]),
                                                  1.0, None, {})
        steps.append(st)
    rule = next(r for r in DEFAULT_RULES if r.signal == "component_saturation")
    found = assess([rule], steps)
    assert found.alarms == []
    assert found.not_evaluated == [{
        "rule": "component_saturation", "signal": "component_saturation",
        "metric": "components.*.saturated_share", "key": "new",
        "reason": "components.new.saturated_share has no value in the first 3 steps, its "
                  "baseline (no row of this step has component 'new' at step 1)"}]
