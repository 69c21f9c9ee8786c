"""Watch a training run's reward stream for reward hacking (``rewardsmith monitor``).

- :mod:`.steps`: per-step statistics from ``score`` rows or the reward Lambda's log lines;
- :mod:`.rules`: declared alarm rules (thresholds and trends) and their evaluation;
- :mod:`.dashboard`: the self-contained HTML dashboard of plots over steps.

See docs/monitor.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.monitor.rules import (
    DEFAULT_RULES,
    MISSING_SIGNAL,
    Assessment,
    Rule,
    RulesError,
    assess,
    evaluate,
    load_rules,
)
from rewardsmith.monitor.steps import MonitorInputError, SkippedLine, StepStats, read_step

# At most this many skipped lines per step are listed (all are counted).
SKIPPED_LISTED = 20


@dataclass
class MonitorResult:
    """Every step's statistics, the alarms raised, the gaps (``missing``) and rules never
    evaluated (``not_evaluated``, see :class:`~rewardsmith.monitor.rules.Assessment`), the
    rules in force, and the lines of each step file that could not be used (by 1-based
    step)."""

    steps: list[StepStats]
    alarms: list[dict[str, Any]]
    rules: tuple[Rule, ...]
    skipped: dict[int, list[SkippedLine]]
    missing: list[dict[str, Any]] = field(default_factory=list)
    not_evaluated: list[dict[str, Any]] = field(default_factory=list)

    @property
    def skipped_lines(self) -> dict[int, int]:
        """How many lines of each step (1-based) were skipped."""
        return {step: len(lines) for step, lines in self.skipped.items()}

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object: ``{"steps": [...], "alarms": [{"step", "signal", ...}],
        "missing": [{"step", "signal": "missing", "metric", "key"?, "rules", "message"}],
        "not_evaluated": [{"rule", "signal", "metric", "key"?, "reason"}], "rules": [...],
        "skipped_lines": {step: count}, "skipped": [{"step", "path", "line", "reason"}]}``
        (``skipped`` lists at most :data:`SKIPPED_LISTED` lines a step)."""
        skipped = [{"step": step, "path": self.steps[step - 1].path, **line.to_json()}
                   for step, lines in sorted(self.skipped.items())
                   for line in lines[:SKIPPED_LISTED]]
        return {"steps": [s.to_json() for s in self.steps], "alarms": self.alarms,
                "missing": self.missing, "not_evaluated": self.not_evaluated,
                "rules": [r.to_json() for r in self.rules],
                "skipped_lines": {str(k): v for k, v in self.skipped_lines.items() if v},
                "skipped": skipped}


def monitor(paths: Sequence[str | Path], rules: Sequence[Rule] = DEFAULT_RULES
            ) -> MonitorResult:
    """Read the step files in the order given (step 1 first) and evaluate ``rules``.

    Raises :class:`MonitorInputError` naming the step and file that cannot be used."""
    steps, skipped = [], {}
    for i, path in enumerate(paths, 1):
        stats, bad = read_step(path, i)
        steps.append(stats)
        skipped[i] = bad
    found = assess(rules, steps)
    return MonitorResult(steps, found.alarms, tuple(rules), skipped, found.missing,
                         found.not_evaluated)


__all__ = ["DEFAULT_RULES", "MISSING_SIGNAL", "Assessment", "MonitorInputError",
           "MonitorResult", "Rule", "RulesError", "SkippedLine", "StepStats", "assess",
           "evaluate", "load_rules", "monitor"]
