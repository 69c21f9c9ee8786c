"""A rule that could never fire is refused when it is made (tester finding 7, as a kind):
unknown metrics, statistics, component ids, keys, thresholds that are not finite,
windows and baselines below one step, contradictory or negative conditions, and the
reserved signal name. Each names the file, the rule and the bad value, with the closest
known name (core/suggest.py) where one is close."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rewardsmith.monitor.rules import DEFAULT_RULES, Rule, RulesError, load_rules
from rewardsmith.monitor.steps import StepStats, metric_vocabulary, parse_metric

RULE = '[[rule]]\nname = "refusals"\nsignal = "judge_refusals"\n'


def _load(tmp_path, text: str):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


def _error(tmp_path, text: str) -> str:
    with pytest.raises(RulesError) as info:
        _load(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"rules file {tmp_path / 'rules.toml'}"), message
    return message


@pytest.mark.parametrize(("metric", "expected"), [
    # the tester's typo
    ("refusal_rte", "unknown metric 'refusal_rte' (did you mean 'refusal_rate'?)"),
    ("parse_failures", "unknown metric 'parse_failures' (did you mean 'parse_failure_rate'?)"),
    ("components.*.saturation", "unknown component statistic 'saturation' in "
     "'components.*.saturation' (did you mean 'components.*.saturated_share'?)"),
    ("components.j.saturation", "unknown component statistic 'saturation' in "
     "'components.j.saturation' (did you mean 'components.j.saturated_share'?)"),
    ("components.j.median", "unknown component statistic 'median' in 'components.j.median' "
     "(did you mean 'components.j.mean'?); a component metric is "
     "components.<id or *>.<mean|saturated_share|pass_rate>"),
    ("components.j.p90", "unknown component statistic 'p90' in 'components.j.p90'; a "
     "component metric is components.<id or *>.<mean|saturated_share|pass_rate>"),
    ("component.j.mean", "unknown metric 'component.j.mean' (did you mean "
     "'components.j.mean'?)"),
    ("components.mean", "unknown metric 'components.mean' (did you mean "
     "'components.*.mean'?)"),
    ("criterion.q.correct", "unknown metric 'criterion.q.correct' (did you mean "
     "'criteria.q.correct'?)"),
    ("criteria.q", "unknown criterion metric 'criteria.q': a criterion metric is criteria.* "
     "(every criterion) or criteria.<component>.<criterion>"),
    ("criteria.q.*", "unknown criterion metric 'criteria.q.*'"),
    ("components.j-k.mean", "'j-k' in 'components.j-k.mean' is not a component id"),
    ("zzz", "unknown metric 'zzz'; the monitor computes reward_mean, reward_std, "),
])
def test_an_unknown_metric_is_refused_with_the_closest_name(tmp_path, metric, expected):
    message = _error(tmp_path, f'{RULE}metric = "{metric}"\nabove = 0.0\n')
    assert message.startswith(f"rules file {tmp_path / 'rules.toml'}, rule 1 ('refusals'): "
                              "metric: "), message
    assert expected in message


def test_every_known_metric_and_the_per_key_forms_load(tmp_path):
    names = [*metric_vocabulary(), "components.j.mean", "components.j.saturated_share",
             "components.j.pass_rate", "criteria.q.correct"]
    text = "".join(f'[[rule]]\nname = "r{i}"\nsignal = "s"\nmetric = "{m}"\nabove = 0.5\n'
                   for i, m in enumerate(names))
    assert [r.metric for r in _load(tmp_path, text)] == names
    assert parse_metric("criteria.q.correct").key == "q.correct"
    assert parse_metric("components.j.pass_rate").key == "j"


def test_step_stats_refuse_an_unknown_metric_rather_than_answer_nothing():
    st = StepStats(step=1, path="p", source="rows", samples=1)
    with pytest.raises(ValueError, match=r"unknown metric 'refusal_rte' \(did you mean"):
        st.metric("refusal_rte")
    assert st.metric("judge_calls") == {None: 0.0}
    assert st.metric("criteria.q.correct") == {}


@pytest.mark.parametrize("key", ["above", "below", "rise", "fall"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+inf"])
def test_a_threshold_that_is_not_finite_is_refused(tmp_path, key, value):
    message = _error(tmp_path, f'{RULE}metric = "refusal_rate"\n{key} = {value}\n')
    shown = {"nan": "nan", "inf": "inf", "-inf": "-inf", "+inf": "inf"}[value]
    assert message.endswith(f"rule 1 ('refusals'): {key!r} must be a finite number, "
                            f"not {shown}"), message


@pytest.mark.parametrize(("extra", "expected"), [
    ('above = "0.5"', "'above' must be a finite number, not '0.5'"),
    ("above = true", "'above' must be a finite number, not True"),
    ("above = 0.1\nwindow = 0", "'window' must be an integer >= 1, not 0"),
    ("above = 0.1\nwindow = -3", "'window' must be an integer >= 1, not -3"),
    ("above = 0.1\nwindow = 1.5", "'window' must be an integer >= 1, not 1.5"),
    ("above = 0.1\nwindow = true", "'window' must be an integer >= 1, not True"),
    ("rise = 0.1\nbaseline_steps = 0", "'baseline_steps' must be an integer >= 1, not 0"),
    ("rise = -0.1", "'rise' must be >= 0 (an amount; use 'fall' for the other direction)"),
    ("fall = -0.2", "'fall' must be >= 0 (an amount; use 'rise' for the other direction)"),
    ("above = 0.9\nbelow = 0.1", "above = 0.9 and below = 0.1 can never both hold (every "
     "condition of a rule must hold); write two rules of one signal to watch both sides"),
    ("above = 0.5\nbelow = 0.5", "above = 0.5 and below = 0.5 can never both hold (every "
     "condition of a rule must hold); write two rules of one signal to watch both sides"),
    ("", "give at least one of above, below, rise, fall"),
    ("description = 3\nabove = 1", "'description' must be a string"),
])
def test_a_condition_that_could_never_hold_is_refused(tmp_path, extra, expected):
    message = _error(tmp_path, f'{RULE}metric = "refusal_rate"\n{extra}\n')
    assert message.endswith(f"rule 1 ('refusals'): {expected}"), message


@pytest.mark.parametrize(("extra", "expected"), [
    # an unknown operator is an unknown key: named, with the closest condition
    ("abvoe = 0.1", "unknown key(s) ['abvoe'] (did you mean 'above'?)"),
    ("greater_than = 0.1", "unknown key(s) ['greater_than']; a rule has name, signal, metric, "
     "above, below, rise, fall, baseline_steps, window, description"),
    ('operator = ">"\nthreshold = 0.1', "unknown key(s) ['operator', 'threshold']; a rule"),
    ("windows = 2\nabove = 0.1", "unknown key(s) ['windows'] (did you mean 'window'?)"),
    ("baseline = 2\nrise = 0.1", "unknown key(s) ['baseline'] (did you mean "
     "'baseline_steps'?)"),
])
def test_an_unknown_key_or_operator_is_refused_with_the_closest_key(tmp_path, extra,
                                                                      expected):
    message = _error(tmp_path, f'{RULE}metric = "refusal_rate"\n{extra}\n')
    assert f"rule 1 ('refusals'): {expected}" in message, message


def test_an_unknown_top_level_key_names_the_closest(tmp_path):
    message = _error(tmp_path, 'include_default = true\n')
    assert "unknown top-level key(s) ['include_default'] (did you mean " \
           "'include_defaults'?)" in message


def test_the_gap_signal_is_reserved(tmp_path):
    message = _error(tmp_path, '[[rule]]\nname = "m"\nsignal = "missing"\n'
                               'metric = "reward_mean"\nabove = 0\n')
    assert message.endswith("rule 1 ('m'): signal 'missing' is reserved for the monitor's "
                            "gap reports")


def test_the_second_rule_is_named_by_position_and_name(tmp_path):
    good = '[[rule]]\nname = "ok"\nsignal = "s"\nmetric = "reward_mean"\nabove = 0.5\n'
    message = _error(tmp_path, good + '[[rule]]\nname = "typo"\nsignal = "s"\n'
                                      'metric = "reward_mena"\nabove = 0.5\n')
    assert re.search(r"rule 2 \('typo'\): metric: unknown metric 'reward_mena' "
                     r"\(did you mean 'reward_mean'\?\)", message), message


@pytest.mark.parametrize(("fields", "expected"), [
    ({"metric": "refusal_rte", "above": 0.1}, "rule 'r': metric: unknown metric "
     "'refusal_rte' (did you mean 'refusal_rate'?)"),
    ({"metric": "refusal_rate", "above": float("nan")}, "rule 'r': 'above' must be a finite "
     "number, not nan"),
    ({"metric": "refusal_rate", "above": 0.1, "window": 0}, "rule 'r': 'window' must be an "
     "integer >= 1, not 0"),
    ({"metric": "refusal_rate"}, "rule 'r': give at least one of above, below, rise, fall"),
])
def test_rules_made_in_python_are_checked_too(fields, expected):
    with pytest.raises(RulesError) as info:
        Rule(name="r", signal="s", **fields)
    assert str(info.value) == expected or str(info.value).startswith(expected)


def test_the_default_rules_use_known_metrics():
    assert all(parse_metric(r.metric) for r in DEFAULT_RULES)


def test_the_documented_rules_file_loads(tmp_path):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "monitor.md").read_text(
        encoding="utf-8")
    block = re.search(r"```toml\n(include_defaults = true\n.*?)```", doc, re.S)
    assert block, "docs/monitor.md lost its rules file example"
    rules = {r.name: r for r in _load(tmp_path, block.group(1))}
    assert rules["judge_refusals"].above == 0.02
    assert rules["correctness_dropping"].metric == "criteria.q.correct"
    assert len(rules) == len(DEFAULT_RULES) + 2
