"""What the reward Lambda keeps back from the engine for the work after it (issue 10).

The answer must reach the runtime before ``context.get_remaining_time_in_millis()`` runs
out, and after the engine returns there is still work proportional to the batch: building
one wire row per sample, the summary and log line, and the runtime's own JSON encoding of
the returned list (``awslambdaric``'s ``lambda_runtime_marshaller.to_json``, the standard
library ``json`` encoder), which the handler cannot see. :class:`AnswerCosts` estimates
these per sample, starts from conservative defaults (3x a 2-core box's figures), learns from
each invocation (rows: measured; encoding: a timed ``json.dumps`` of a spread of the rows),
and reserves ``safety`` times the estimate. Estimates rise at once and fall by halves, so a
warm Lambda that met one slow batch stays careful for the next.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

# Rows sampled to time the runtime's encoding of the answer: 128 underestimated a 100,000-row
# answer 2.5 times (a large answer encodes slower per row); 1,024 comes within 1.2-1.5.
_ENCODE_PROBE_ROWS = 1024


@dataclass
class AnswerCosts:
    """Seconds per sample after the engine: ``row_s`` building a wire row, ``encode_s`` the
    runtime's JSON encoding of it; ``fixed_s`` for the summary, log and EMF lines."""

    # About 3x what a 2-core x86 box measures (8 us, 5 us): a 512 MB Lambda has about a
    # third of a vCPU. Learnt per invocation after the first.
    row_s: float = 25e-6
    encode_s: float = 15e-6
    fixed_s: float = 0.05
    safety: float = 1.5

    def reserve(self, samples: int) -> float:
        """Seconds to keep back from the engine for ``samples`` rows, encoded."""
        return self.fixed_s + samples * (self.row_s + self.encode_s) * self.safety

    def encode_reserve(self, samples: int) -> float:
        """Seconds to keep back, once the rows are built, for their encoding."""
        return self.fixed_s + samples * self.encode_s * self.safety

    def learn_rows(self, samples: int, seconds: float) -> None:
        """Record that building ``samples`` rows took ``seconds``."""
        if samples >= 64:
            self.row_s = _blend(self.row_s, seconds / samples)

    def probe_encoding(self, rows: list[dict[str, Any]]) -> float:
        """Time the standard ``json`` encoding of a spread of ``rows``, learn the per-row
        cost and return the estimate for all of them (seconds)."""
        if not rows:
            return 0.0
        step = max(1, len(rows) // _ENCODE_PROBE_ROWS)
        probe = rows[::step][:_ENCODE_PROBE_ROWS]
        timings = []
        for _ in range(3):  # the median of three: one paused probe does not decide
            started = time.perf_counter()
            try:
                json.dumps(probe)
            except (TypeError, ValueError):  # the runtime would fail too; nothing to learn
                return len(rows) * self.encode_s
            timings.append(time.perf_counter() - started)
        per_row = sorted(timings)[1] / len(probe)
        if len(probe) >= 16:
            self.encode_s = _blend(self.encode_s, per_row)
        return len(rows) * per_row


def _blend(old: float, new: float) -> float:
    """Up at once, down by halves."""
    return new if new >= old else (old + new) / 2
