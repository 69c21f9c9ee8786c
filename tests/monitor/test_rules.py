"""Alarm rules: conditions, baselines, windows, onsets, and rules files."""

from __future__ import annotations

import pytest

from rewardsmith.monitor.rules import DEFAULT_RULES, Rule, RulesError, evaluate, load_rules
from rewardsmith.monitor.steps import ComponentStats, Distribution, StepStats


def _steps(metric: str, values: list[float | None]) -> list[StepStats]:
    steps = []
    for i, v in enumerate(values, 1):
        st = StepStats(step=i, path=f"s{i}", source="rows", samples=10)
        setattr(st, metric, v)
        steps.append(st)
    return steps


def test_threshold_rule_fires_at_each_onset():
    rule = Rule(name="r", signal="sig", metric="refusal_rate", above=0.1)
    alarms = evaluate([rule], _steps("refusal_rate", [0, 0.2, 0.3, 0.05, 0.2, 0.01, 0.5]))
    assert [a["step"] for a in alarms] == [2, 5, 7]
    assert alarms[0]["value"] == 0.2 and alarms[0]["signal"] == "sig"
    # Step 6 undefined instead of clear: a gap, not a clearing; 5 to 7 is one alarm.
    alarms = evaluate([rule], _steps("refusal_rate", [0, 0.2, 0.3, 0.05, 0.2, None, 0.5]))
    assert [a["step"] for a in alarms] == [2, 5]


def test_trend_rule_needs_the_baseline_and_skips_it():
    rule = Rule(name="r", signal="sig", metric="judge_check_corr", fall=0.3, baseline_steps=2)
    alarms = evaluate([rule], _steps("judge_check_corr", [0.8, 0.6, 0.5, 0.3, 0.2]))
    assert [(a["step"], a["baseline"]) for a in alarms] == [(4, 0.7)]
    assert "baseline 0.700 over the first 2 steps" in alarms[0]["message"]


def test_window_smooths():
    rule = Rule(name="r", signal="sig", metric="swap_inconsistency", above=0.3, window=2)
    alarms = evaluate([rule], _steps("swap_inconsistency", [0.1, 0.5, 0.1, 0.4, 0.4]))
    assert [a["step"] for a in alarms] == [5]


def test_per_component_rules_name_the_component():
    steps = []
    for i, (a, b) in enumerate([(0.1, 1.0), (0.1, 1.0), (0.1, 1.0), (0.95, 1.0)], 1):
        st = StepStats(step=i, path="p", source="rows", samples=10)
        for cid, share in (("a", a), ("b", b)):
            st.components[cid] = ComponentStats(cid, "t", False, Distribution.of([1.0]),
                                                share, None, {})
        steps.append(st)
    rule = next(r for r in DEFAULT_RULES if r.signal == "component_saturation")
    alarms = evaluate([rule], steps)
    assert [(a["step"], a["key"]) for a in alarms] == [(4, "a")]
    assert alarms[0]["message"].startswith("components.a.saturated_share = 0.950")


def test_two_rules_of_one_signal_raise_one_alarm():
    rules = [r for r in DEFAULT_RULES if r.signal == "swap_inconsistency"]
    assert len(rules) == 2
    alarms = evaluate(rules, _steps("swap_inconsistency", [0.05, 0.05, 0.05, 0.6, 0.45, 0.7]))
    assert [(a["step"], a["rule"]) for a in alarms] == [(4, "swap_inconsistency_rising")]


def test_rules_file_replaces_or_extends_the_defaults(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "costly"\nsignal = "judge_cost"\n'
                    'metric = "judge_cost_usd"\nabove = 0.5\n', encoding="utf-8")
    assert [r.name for r in load_rules(path)] == ["costly"]
    path.write_text('include_defaults = true\n[[rule]]\nname = "judge_refusals"\n'
                    'signal = "judge_refusals"\nmetric = "refusal_rate"\nabove = 0.2\n',
                    encoding="utf-8")
    rules = load_rules(path)
    assert len(rules) == len(DEFAULT_RULES)
    assert next(r for r in rules if r.name == "judge_refusals").above == 0.2


@pytest.mark.parametrize(("text", "message"), [
    ('[[rule]]\nname = "x"\nsignal = "s"\nmetric = "reward_mean"\n',
     "rule 1 ('x'): give at least one"),
    ('[[rule]]\nname = "x"\nsignal = "s"\nmetric = "reward_mean"\nabove = "high"\n',
     "'above' must be a finite number"),
    ('[[rule]]\nname = "x"\nsignal = "s"\nmetric = "reward_mean"\nabove = 1\nwindow = 0\n',
     "'window' must be an integer >= 1"),
    ('[[rule]]\nname = "x"\nsignal = "s"\nmetric = "reward_mean"\nabove = 1\nthreshold = 2\n',
     "unknown key(s) ['threshold']"),
    ('[[rule]]\nname = "x"\nsignal = "s"\nmetric = "reward_mean"\nabove = 1\n' * 2, "used twice"),
    ("rules = 3\n", "unknown top-level key(s) ['rules']"),
    ("[[rule]\n", "rules file"),
    ("", "no [[rule]] tables"),
])
def test_bad_rules_files_are_named(tmp_path, text, message):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=r"rules\.toml") as info:
        load_rules(path)
    assert message in str(info.value)
