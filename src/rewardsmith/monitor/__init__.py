"""Watch a training run's reward stream for reward hacking (``rewardsmith monitor``).

- :mod:`.steps`: per-step statistics from ``score`` rows or the reward Lambda's log lines;
- :mod:`.rules`: declared alarm rules (thresholds and trends) and their evaluation;
- :mod:`.dashboard`: the self-contained HTML dashboard of plots over steps.

See docs/monitor.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.monitor.rules import DEFAULT_RULES, Rule, RulesError, evaluate, load_rules
from rewardsmith.monitor.steps import MonitorInputError, StepStats, read_step


@dataclass
class MonitorResult:
    """Every step's statistics, the alarms raised, the rules in force, and how many JSON
    lines of each step file could not be used (by 1-based step)."""

    steps: list[StepStats]
    alarms: list[dict[str, Any]]
    rules: tuple[Rule, ...]
    skipped_lines: dict[int, int]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object: ``{"steps": [...], "alarms": [{"step", "signal", ...}],
        "rules": [...], "skipped_lines": {step: count}}``."""
        return {"steps": [s.to_json() for s in self.steps], "alarms": self.alarms,
                "rules": [r.to_json() for r in self.rules],
                "skipped_lines": {str(k): v for k, v in self.skipped_lines.items() if v}}


def monitor(paths: Sequence[str | Path], rules: Sequence[Rule] = DEFAULT_RULES
            ) -> MonitorResult:
    """Read the step files in the order given (step 1 first) and evaluate ``rules``.

    Raises :class:`MonitorInputError` naming the step and file that cannot be used."""
    steps, skipped = [], {}
    for i, path in enumerate(paths, 1):
        stats, bad = read_step(path, i)
        steps.append(stats)
        skipped[i] = bad
    return MonitorResult(steps, evaluate(rules, steps), tuple(rules), skipped)


__all__ = ["DEFAULT_RULES", "MonitorInputError", "MonitorResult", "Rule", "RulesError",
           "StepStats", "evaluate", "load_rules", "monitor"]
