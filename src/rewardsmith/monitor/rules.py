"""Declared alarm rules over the per-step statistics, and their evaluation.

A rule names a *signal* (what the operator is told: ``length_padding`` …), the
*metric* it watches (a :meth:`StepStats.metric <rewardsmith.monitor.steps.StepStats.metric>`
name; ``components.*.<stat>`` and ``criteria.*`` are watched per component/criterion)
and one or more conditions that must all hold:

* ``above`` / ``below``: the value against a fixed threshold;
* ``rise`` / ``fall``: the value against the *baseline*, the mean of the metric over the
  first ``baseline_steps`` steps (a trend; not evaluated within the baseline itself).

``window`` (default 1) compares the mean of the last ``window`` steps instead of the
step's own value, to smooth noisy metrics. An alarm is raised at the *onset*: the first
step where a rule's conditions hold after a step where they did not (so a signature
that persists is reported once, and again if it clears and comes back). A step where the
metric is undefined (a component absent, a correlation with too few pairs) is a *gap*: it
neither clears nor raises an alarm, the state before it carries across it, and the gap is
reported itself (:attr:`Assessment.missing`). A rule whose metric no step defines is
reported as not evaluated (:attr:`Assessment.not_evaluated`).

Every rule is checked when it is made (:class:`Rule`, :func:`load_rules`): its metric must
be one the monitor computes (:func:`rewardsmith.monitor.steps.parse_metric`), its
thresholds finite, ``rise``/``fall`` not negative, ``above`` below ``below``, windows and
baselines at least one step; a rules file's unknown keys are refused with the closest
known key.

A rules file is TOML with ``[[rule]]`` tables of the same keys as :data:`DEFAULT_RULES`;
it replaces the defaults unless it sets ``include_defaults = true`` at the top, in which
case its rules are added and a rule with a default's ``name`` replaces that default.
"""

from __future__ import annotations

import math
import statistics
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.suggest import did_you_mean
from rewardsmith.monitor.steps import StepStats, parse_metric

_CONDITIONS = ("above", "below", "rise", "fall")
_KEYS = ("name", "signal", "metric", *_CONDITIONS, "baseline_steps", "window", "description")
_TOP_KEYS = ("rule", "include_defaults")
MISSING_SIGNAL = "missing"  # the signal of a gap report; no rule may use it


def _unknown(keys: set[str], known: Sequence[str]) -> str:
    """``['abvoe'] (did you mean 'above'?)`` for keys outside ``known``."""
    hints = [h for h in (did_you_mean(k, known).strip() for k in sorted(keys)) if h]
    return f"{sorted(keys)}" + (f" {' '.join(hints)}" if hints else "")


def _problem(name: Any, signal: Any, metric: Any, conditions: Mapping[str, Any],
             baseline_steps: Any, window: Any, description: Any) -> str | None:
    """What is wrong with a rule's fields, or ``None``: the one check behind
    :meth:`Rule.from_table` and :class:`Rule` itself."""
    for key, value in (("name", name), ("signal", signal), ("metric", metric)):
        if not isinstance(value, str) or not value.strip():
            return f"{key!r} must be a non-empty string"
    if signal == MISSING_SIGNAL:
        return f"signal {MISSING_SIGNAL!r} is reserved for the monitor's gap reports"
    try:
        parse_metric(metric)
    except ValueError as exc:
        return f"metric: {exc}"
    given = {k: v for k, v in conditions.items() if v is not None}
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not \
                math.isfinite(value):
            return f"{key!r} must be a finite number, not {value!r}"
    if not given:
        return f"give at least one of {', '.join(_CONDITIONS)}"
    for key in ("rise", "fall"):
        if given.get(key, 0) < 0:
            return (f"{key!r} must be >= 0 (an amount; use "
                    f"{'fall' if key == 'rise' else 'rise'!r} for the other direction)")
    if "above" in given and "below" in given and given["above"] >= given["below"]:
        return (f"above = {given['above']} and below = {given['below']} can never both hold "
                "(every condition of a rule must hold); write two rules of one signal to "
                "watch both sides")
    for key, value in (("baseline_steps", baseline_steps), ("window", window)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"{key!r} must be an integer >= 1, not {value!r}"
    if not isinstance(description, str):
        return "'description' must be a string"
    return None


class RulesError(RewardsmithError, ValueError):
    """A rules file or rule table is not usable; the message names the rule and key."""


@dataclass(frozen=True)
class Rule:
    """One alarm rule (see the module docstring). Thresholds are in the metric's units:
    shares and correlations are plain numbers, cost is US dollars."""

    name: str
    signal: str
    metric: str
    above: float | None = None
    below: float | None = None
    rise: float | None = None
    fall: float | None = None
    baseline_steps: int = 3
    window: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        problem = _problem(self.name, self.signal, self.metric,
                           {k: getattr(self, k) for k in _CONDITIONS}, self.baseline_steps,
                           self.window, self.description)
        if problem:
            raise RulesError(f"rule {self.name!r}: {problem}")

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> Rule:
        """A rule from a TOML table. Raises :class:`RulesError` naming ``where``, the key
        at fault and, for an unknown key or metric, the closest known one."""
        unknown = set(table) - set(_KEYS)
        if unknown:
            raise RulesError(f"{where}: unknown key(s) {_unknown(unknown, _KEYS)}; a rule "
                             f"has {', '.join(_KEYS)}")
        fields = {"baseline_steps": 3, "window": 1, "description": "", **table}
        problem = _problem(fields.get("name"), fields.get("signal"), fields.get("metric"),
                           {k: table.get(k) for k in _CONDITIONS}, fields["baseline_steps"],
                           fields["window"], fields["description"])
        if problem:
            raise RulesError(f"{where}: {problem}")
        numbers = {k: float(table[k]) for k in _CONDITIONS if k in table}
        return cls(name=table["name"], signal=table["signal"], metric=table["metric"],
                   description=fields["description"], baseline_steps=fields["baseline_steps"],
                   window=fields["window"], **numbers)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "signal": self.signal,
                               "metric": self.metric}
        for key in _CONDITIONS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(baseline_steps=self.baseline_steps, window=self.window,
                   description=self.description)
        return out

    @property
    def uses_baseline(self) -> bool:
        return self.rise is not None or self.fall is not None

    def holds(self, value: float, baseline: float | None) -> bool:
        """Whether every condition holds for ``value`` (and ``baseline`` for rise/fall)."""
        if self.above is not None and not value > self.above:
            return False
        if self.below is not None and not value < self.below:
            return False
        if self.uses_baseline and baseline is None:
            return False
        if self.rise is not None and not value - baseline > self.rise:  # type: ignore[operator]
            return False
        return not (self.fall is not None
                    and not baseline - value > self.fall)  # type: ignore[operator]


# The defaults, tuned on the synthetic runs of tests/monitor (128 rollouts a step, groups
# of 8): each flags its injected signature within DETECTION_WINDOW steps and a clean run
# of 30 steps flags nothing. Smaller steps are noisier: raise the thresholds or the window.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(name="length_padding", signal="length_padding", metric="length_reward_corr",
          above=0.3, rise=0.3,
          description="Longer responses get more reward than at the start of the run: "
                      "the policy may be padding to please a judge."),
    Rule(name="judge_check_divergence", signal="judge_check_divergence",
          metric="judge_check_corr", fall=0.35,
          description="Judges and deterministic checks agree less than at the start: the "
                      "policy may please the judge without doing the task."),
    Rule(name="component_saturation", signal="component_saturation",
          metric="components.*.saturated_share", above=0.9, rise=0.3,
          description="A component gives its top value to almost every sample, and did "
                      "not at the start: it no longer separates responses (a loophole?)."),
    Rule(name="group_spread_collapse", signal="group_spread_collapse",
          metric="zero_variance_group_share", above=0.5, rise=0.25,
          description="Most prompt groups have the same reward for every rollout: "
                      "GRPO-style advantages are zero, so there is no learning signal."),
    Rule(name="swap_inconsistency_rising", signal="swap_inconsistency",
          metric="swap_inconsistency", above=0.2, rise=0.1,
          description="Pairwise verdicts flip with the order more than at the start: the "
                      "judge is reading position, not quality."),
    Rule(name="swap_inconsistency_high", signal="swap_inconsistency",
          metric="swap_inconsistency", above=0.5,
          description="Pairwise verdicts flip with the order in most comparisons."),
    Rule(name="judge_parse_failures", signal="judge_parse_failures",
          metric="parse_failure_rate", above=0.05,
          description="More than 5% of judge outcomes are unparseable verdicts."),
    Rule(name="judge_refusals", signal="judge_refusals", metric="refusal_rate",
          above=0.05, description="More than 5% of judge outcomes are refusals."),
)
DETECTION_WINDOW = 3  # steps after an injection within which the default rules flag it


def load_rules(path: str | Path) -> tuple[Rule, ...]:
    """The rules of a TOML rules file (see the module docstring). Raises
    :class:`RulesError` naming the file, and the rule and key at fault."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"rules file {p}: {exc}") from exc
    extra = set(doc) - set(_TOP_KEYS)
    if extra:
        raise RulesError(f"rules file {p}: unknown top-level key(s) "
                         f"{_unknown(extra, _TOP_KEYS)}; expected [[rule]] tables and "
                         "include_defaults")
    tables = doc.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RulesError(f"rules file {p}: 'rule' must be an array of tables ([[rule]])")
    rules = [Rule.from_table(t, f"rules file {p}, rule {i + 1}"
                             + (f" ({t['name']!r})" if isinstance(t.get('name'), str) else ""))
             for i, t in enumerate(tables)]
    include = doc.get("include_defaults", False)
    if not isinstance(include, bool):
        raise RulesError(f"rules file {p}: include_defaults must be true or false")
    if include:
        own = {r.name for r in rules}
        rules = [r for r in DEFAULT_RULES if r.name not in own] + rules
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RulesError(f"rules file {p}: rule name(s) used twice: {duplicates}")
    if not rules:
        raise RulesError(f"rules file {p}: no [[rule]] tables")
    return tuple(rules)


@dataclass
class Assessment:
    """What the rules found over a run.

    * ``alarms``: ``{"step", "signal", "rule", "metric", "value", "baseline", "message"}``
      (plus ``"key"``, the component or criterion, for a per-key metric), by step then
      signal;
    * ``missing``: the gaps, one per step and watched value undefined there while some
      other step defines it: ``{"step", "signal": "missing", "metric"`` (the concrete name,
      ``components.j.saturated_share``), ``"key"`` (if per key), ``"rules"`` (the rules
      watching it), ``"message"}``, by step;
    * ``not_evaluated``: rules (or one key of a rule) never evaluated on this run:
      ``{"rule", "signal", "metric", "key"`` (if one key), ``"reason"}``.
    """

    alarms: list[dict[str, Any]]
    missing: list[dict[str, Any]]
    not_evaluated: list[dict[str, Any]]


def evaluate(rules: Sequence[Rule], steps: Sequence[StepStats]) -> list[dict[str, Any]]:
    """The alarms of :func:`assess` (see :class:`Assessment` for their shape)."""
    return assess(rules, steps).alarms


def assess(rules: Sequence[Rule], steps: Sequence[StepStats]) -> Assessment:
    """Evaluate ``rules`` over ``steps`` (step 1 first).

    A signal (with its key) is raised at the onset of any of its rules holding: once while
    one or another of its rules keeps holding, again only after a step where its value was
    defined and none held. A step where none of its rules has a value is a gap: it neither
    clears nor raises, the state before it carries across (so a persisting signature is
    not raised again after a step that lacked the component), and it is reported in
    ``missing``. The alarm names the first rule (in rules order) that holds at the onset.
    """
    n = len(steps)
    per_rule: list[tuple[Rule, dict[str | None, list[float | None]]]] = []
    for rule in rules:
        series: dict[str | None, list[float | None]] = {}
        for i, st in enumerate(steps):
            for key, value in st.metric(rule.metric).items():
                series.setdefault(key, [None] * n)[i] = value
        per_rule.append((rule, series))

    # holds[(signal, key)][i] = (rule, value, baseline) of the first rule holding at step i;
    # defined[(signal, key)][i]: some rule of the signal has a value for key at step i.
    holds: dict[tuple[str, str | None], list[tuple[Rule, float, float | None] | None]] = {}
    defined: dict[tuple[str, str | None], list[bool]] = {}
    not_evaluated: list[dict[str, Any]] = []
    for rule, series in per_rule:
        if not series:
            not_evaluated.append(_not_evaluated(rule, None, _absent_reason(rule, steps)))
            continue
        if rule.uses_baseline and n <= rule.baseline_steps:
            not_evaluated.append(_not_evaluated(
                rule, None, f"the run has {n} step(s): a rise/fall rule is evaluated only "
                            f"after its baseline, the first {rule.baseline_steps} steps"))
            continue
        for key, values in series.items():
            base_vals = [v for v in values[: rule.baseline_steps] if v is not None]
            baseline = statistics.fmean(base_vals) if base_vals else None
            if rule.uses_baseline and baseline is None:
                label = parse_metric(rule.metric).label(key)
                not_evaluated.append(_not_evaluated(
                    rule, key, f"{label} has no value in the first {rule.baseline_steps} "
                               f"steps, its baseline ({steps[0].undefined_reason(rule.metric, key)}"
                               " at step 1)"))
            slots = holds.setdefault((rule.signal, key), [None] * n)
            flags = defined.setdefault((rule.signal, key), [False] * n)
            for i, value in enumerate(values):
                if value is None:
                    continue
                flags[i] = True
                if slots[i] is not None or (rule.uses_baseline and i < rule.baseline_steps):
                    continue
                recent = [v for v in values[max(0, i - rule.window + 1): i + 1]
                          if v is not None]
                current = statistics.fmean(recent)
                if rule.holds(current, baseline):
                    slots[i] = (rule, current, baseline)

    alarms = []
    for (signal, key), slots in holds.items():
        held_before = False
        for i, slot in enumerate(slots):
            if not defined[(signal, key)][i]:
                continue  # a gap carries the state across
            if slot is not None and not held_before:
                rule, current, baseline = slot
                alarm: dict[str, Any] = {
                    "step": i + 1, "signal": signal, "rule": rule.name,
                    "metric": rule.metric, "value": round(current, 6),
                    "baseline": None if baseline is None else round(baseline, 6),
                    "message": _message(rule, key, current, baseline)}
                if key is not None:
                    alarm["key"] = key
                alarms.append(alarm)
            held_before = slot is not None
    alarms.sort(key=lambda a: (a["step"], a["signal"], a.get("key") or ""))
    return Assessment(alarms, _gaps(per_rule, steps), not_evaluated)


def _not_evaluated(rule: Rule, key: str | None, reason: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"rule": rule.name, "signal": rule.signal, "metric": rule.metric}
    if key is not None:
        entry["key"] = key
    entry["reason"] = reason
    return entry


def _absent_reason(rule: Rule, steps: Sequence[StepStats]) -> str:
    """Why no step defines ``rule``'s metric, with the closest id the run does have when
    the rule names one component or criterion."""
    if not steps:
        return "there are no steps"
    m = parse_metric(rule.metric)
    if m.kind in ("component", "criterion") and m.key != "*":
        if m.kind == "component":
            seen = sorted({c for st in steps for c in st.components})
            what = "component"
        else:
            seen = sorted({c for st in steps for c in st.criteria_pass_rates})
            what = "criterion"
        if all(st.source == "lambda" for st in steps):
            return f"no step has {what} {m.key!r}: {steps[0].undefined_reason(rule.metric)}"
        if any(m.key in (st.components if what == "component" else st.criteria_pass_rates)
               for st in steps):
            return f"{what} {m.key!r} never has a {m.stat or 'pass rate'} in this run"
        listed = f"; the run has {', '.join(map(repr, seen))}" if seen else \
            f"; the run has no {what}"
        return f"no step has {what} {m.key!r}{did_you_mean(str(m.key), seen)}{listed}"
    return f"undefined in all {len(steps)} steps: {steps[0].undefined_reason(rule.metric)}"


def _gaps(per_rule: Sequence[tuple[Rule, dict[str | None, list[float | None]]]],
          steps: Sequence[StepStats]) -> list[dict[str, Any]]:
    """One entry per step and watched value (deduplicated over the rules watching it) that
    is undefined at that step and defined at another."""
    watched: dict[str, tuple[Rule, str | None, list[float | None], list[str]]] = {}
    for rule, series in per_rule:
        for key, values in series.items():
            label = parse_metric(rule.metric).label(key)
            if label in watched:
                if rule.name not in watched[label][3]:
                    watched[label][3].append(rule.name)
            else:
                watched[label] = (rule, key, values, [rule.name])
    out = []
    for label, (rule, key, values, names) in watched.items():
        for i, value in enumerate(values):
            if value is not None:
                continue
            entry: dict[str, Any] = {"step": i + 1, "signal": MISSING_SIGNAL, "metric": label}
            if key is not None:
                entry["key"] = key
            entry["rules"] = names
            entry["message"] = (f"{label} is undefined at this step: "
                                f"{steps[i].undefined_reason(rule.metric, key)} (watched by "
                                f"{', '.join(names)}; alarm state carried across the gap)")
            out.append(entry)
    return sorted(out, key=lambda e: (e["step"], e["metric"]))


def _message(rule: Rule, key: str | None, value: float, baseline: float | None) -> str:
    what = rule.metric.replace("*", key) if key is not None else rule.metric
    text = f"{what} = {value:.3f}"
    if baseline is not None and rule.uses_baseline:
        text += f" (baseline {baseline:.3f} over the first {rule.baseline_steps} steps)"
    return f"{text}: {rule.description}" if rule.description else text
