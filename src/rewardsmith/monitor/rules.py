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
that persists is reported once, and again if it clears and comes back).

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
from rewardsmith.monitor.steps import StepStats

_CONDITIONS = ("above", "below", "rise", "fall")
_KEYS = {"name", "signal", "metric", "description", "baseline_steps", "window", *_CONDITIONS}


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

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> Rule:
        """A rule from a TOML table. Raises :class:`RulesError` naming ``where``."""
        unknown = set(table) - _KEYS
        if unknown:
            raise RulesError(f"{where}: unknown key(s) {sorted(unknown)}; a rule has "
                             f"{sorted(_KEYS)}")
        for key in ("name", "signal", "metric"):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise RulesError(f"{where}: {key!r} must be a non-empty string")
        numbers: dict[str, float] = {}
        for key in _CONDITIONS:
            if key in table:
                value = table[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not \
                        math.isfinite(value):
                    raise RulesError(f"{where}: {key!r} must be a finite number")
                numbers[key] = float(value)
        if not numbers:
            raise RulesError(f"{where}: give at least one of {', '.join(_CONDITIONS)}")
        ints: dict[str, int] = {}
        for key, default in (("baseline_steps", 3), ("window", 1)):
            value = table.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RulesError(f"{where}: {key!r} must be an integer >= 1")
            ints[key] = value
        description = table.get("description", "")
        if not isinstance(description, str):
            raise RulesError(f"{where}: 'description' must be a string")
        return cls(name=table["name"], signal=table["signal"], metric=table["metric"],
                   description=description, **numbers, **ints)

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
    extra = set(doc) - {"rule", "include_defaults"}
    if extra:
        raise RulesError(f"rules file {p}: unknown top-level key(s) {sorted(extra)}; "
                         "expected [[rule]] tables and include_defaults")
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


def evaluate(rules: Sequence[Rule], steps: Sequence[StepStats]) -> list[dict[str, Any]]:
    """The alarms: ``{"step", "signal", "rule", "metric", "value", "baseline",
    "message"}`` (plus ``"key"``, the component or criterion, for per-component metrics),
    ordered by step then signal. A signal (with its key) is raised at the onset of any of
    its rules holding: once while one or another of its rules keeps holding, again only
    after a step where none held. The alarm names the first rule (in rules order) that
    holds at the onset."""
    # holds[(signal, key)][i] = (rule, value, baseline) of the first rule holding at step i
    holds: dict[tuple[str, str | None], list[tuple[Rule, float, float | None] | None]] = {}
    for rule in rules:
        series: dict[str | None, list[float | None]] = {}
        for i, st in enumerate(steps):
            for key, value in st.metric(rule.metric).items():
                series.setdefault(key, [None] * len(steps))[i] = value
        for key, values in series.items():
            base_vals = [v for v in values[: rule.baseline_steps] if v is not None]
            baseline = statistics.fmean(base_vals) if base_vals else None
            slots = holds.setdefault((rule.signal, key), [None] * len(steps))
            for i, value in enumerate(values):
                recent = [v for v in values[max(0, i - rule.window + 1): i + 1]
                          if v is not None]
                if value is None or not recent or slots[i] is not None:
                    continue
                if rule.uses_baseline and i < rule.baseline_steps:
                    continue
                current = statistics.fmean(recent)
                if rule.holds(current, baseline):
                    slots[i] = (rule, current, baseline)
    alarms = []
    for (signal, key), slots in holds.items():
        for i, slot in enumerate(slots):
            if slot is None or (i > 0 and slots[i - 1] is not None):
                continue
            rule, current, baseline = slot
            alarm: dict[str, Any] = {
                "step": i + 1, "signal": signal, "rule": rule.name, "metric": rule.metric,
                "value": round(current, 6),
                "baseline": None if baseline is None else round(baseline, 6),
                "message": _message(rule, key, current, baseline)}
            if key is not None:
                alarm["key"] = key
            alarms.append(alarm)
    return sorted(alarms, key=lambda a: (a["step"], a["signal"], a.get("key") or ""))


def _message(rule: Rule, key: str | None, value: float, baseline: float | None) -> str:
    what = rule.metric.replace("*", key) if key is not None else rule.metric
    text = f"{what} = {value:.3f}"
    if baseline is not None and rule.uses_baseline:
        text += f" (baseline {baseline:.3f} over the first {rule.baseline_steps} steps)"
    return f"{text}: {rule.description}" if rule.description else text
