"""What a scorer keeps back, under a batch deadline, for building its results (issue 10).

After the checks stop, every sample read still needs its result built (failure policies,
aggregation, one :class:`~rewardsmith.core.results.SampleResult`), and every sample not read
a cheap failed result. The engine stops the checks early enough for that. The cost per
result differs by pack (components, formulas, turns) and by machine, so it is *measured*,
per scorer: on a cold scorer by timing a small probe of results built from the batch's first
parsed samples, afterwards from what building each batch's results really cost. Estimates
rise at once and fall by halves (as :class:`rewardsmith.aws_lambda.budget.AnswerCosts`
does), so one slow batch keeps the next careful.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Results timed in a cold scorer's probe: enough to average out a cache miss, few enough to
# cost well under a millisecond per component.
PROBE_SAMPLES = 64
# A probe sees no garbage collection of a 100,000-result batch (which is charged to
# whichever allocation triggers it), a warm cache, and outcomes lighter than real ones (no
# measurements): measured, three cheap checks over 100,000 samples on a busy 2-core box,
# the probe said 6 us per result and the batch took 24 us. Its figure counts four times.
_PROBE_SAFETY = 4.0
# A figure measured over a whole batch already includes its collections.
_LEARNT_SAFETY = 1.5
# Floor per result, whatever was measured: timer resolution and a paused probe.
_MIN_PER_RESULT_S = 5e-6


@dataclass
class FinishCosts:
    """Seconds to build one sample's result; ``None`` until probed or learnt."""

    per_result_s: float | None = None
    safety: float = _PROBE_SAFETY
    #: Seconds of scoring work (gates, checks, judges) per sample read, learnt from
    #: batches that finished before their deadline; ``None`` until one did.
    score_per_sample_s: float | None = None
    #: Seconds to answer one sample not read at all (a failed result): measured ~23 us on
    #: a busy 2-core box; learnt from every batch that had such a tail.
    tail_s: float = 25e-6

    def learn_tail(self, samples: int, seconds: float) -> None:
        """Record that answering ``samples`` unread samples took ``seconds``."""
        if samples >= 256:
            new = seconds / samples * _LEARNT_SAFETY
            self.tail_s = new if new >= self.tail_s else (self.tail_s + new) / 2

    @property
    def known(self) -> bool:
        return self.per_result_s is not None

    def reserve(self, results: int) -> float | None:
        """Seconds to keep back for building ``results`` results; ``None`` when nothing was
        measured yet (the caller then uses its own cold assumption)."""
        if self.per_result_s is None:
            return None
        return results * max(self.per_result_s, _MIN_PER_RESULT_S) * self.safety

    def probe(self, build: Callable[[int], object], count: int) -> None:
        """Time ``build(i)`` for ``i < count`` (the fastest of three passes: on a shared
        CPU noise only adds) and take the per-result figure, multiplied for what a probe
        cannot see (``_PROBE_SAFETY``). ``build`` must not change the batch; an exception
        from it leaves the estimate unknown."""
        if count <= 0:
            return
        timings = []
        try:
            for _ in range(3):
                started = time.perf_counter()
                for i in range(count):
                    build(i)
                timings.append(time.perf_counter() - started)
        except Exception:  # a probe that cannot run says nothing; the cold default stands
            return
        self._take(min(timings) / count, _PROBE_SAFETY)

    def learn(self, results: int, seconds: float) -> None:
        """Record that building ``results`` results really took ``seconds``."""
        if results >= 256:
            self._take(seconds / results, _LEARNT_SAFETY)

    def scoring(self, read_per_sample_s: float) -> float:
        """Seconds of scoring to allow per sample read: learnt, else (a cold scorer) as
        much as reading it cost, so a batch too large for its deadline is not read to
        the end with no time left to score any of it."""
        if self.score_per_sample_s is None:
            return read_per_sample_s
        return self.score_per_sample_s * _LEARNT_SAFETY

    def learn_scoring(self, samples: int, seconds: float) -> None:
        """Record that scoring ``samples`` samples (all of them, before the deadline) took
        ``seconds``: up at once, down by halves."""
        if samples < 256:
            return
        new, old = seconds / samples, self.score_per_sample_s
        self.score_per_sample_s = new if old is None or new >= old else (old + new) / 2

    def _take(self, per_result: float, safety: float) -> None:
        old = self.per_result_s
        if old is None or per_result * safety >= old * self.safety:
            self.per_result_s, self.safety = per_result, safety
        else:  # down by halves
            self.per_result_s = (old * self.safety + per_result * safety) / 2 / safety
            self.safety = safety
