"""What the reward Lambda keeps back from the engine for the work after it (issue 10).

The answer must reach the runtime before ``context.get_remaining_time_in_millis()`` runs
out, and after the engine returns there is still work proportional to the batch: building
one wire row per sample, the summary and log line, and the runtime's own JSON encoding of
the returned list, which the handler cannot see. That encoder is ``simplejson``, not the
standard library: ``awslambdaric``'s ``lambda_runtime_marshaller.LambdaMarshaller``
encodes the answer with a ``simplejson.JSONEncoder(use_decimal=False, allow_nan=True)``,
with ``ensure_ascii=False`` when ``AWS_EXECUTION_ENV`` names a Python 3.12-3.15 runtime
(https://github.com/aws/aws-lambda-python-runtime-interface-client,
``awslambdaric/lambda_runtime_marshaller.py``, read at 46e4c6a). :func:`runtime_encoder`
times the same encoder with the same options when ``simplejson`` is importable (it is
wherever ``awslambdaric`` is), else the standard library's with those options.

:class:`AnswerCosts` estimates these per sample, starts from conservative defaults (3x a
2-core box's figures), learns from each invocation (rows: measured; encoding: timed, see
:meth:`AnswerCosts.learn_encoding` for when), and reserves ``safety`` times the estimate.
Estimates rise at once and fall by halves, so a warm Lambda that met one slow batch stays
careful for the next.

On a cold start nothing has been learnt yet, and the defaults (sized for a third of a vCPU)
kept back three times what a 2-core box needs: a 100,000-sample first batch was answered in
time but scored by none. So before the first batch, :meth:`AnswerCosts.probe_rows` times
building and encoding a small probe of rows shaped like the pack's, and the reserve comes
from that measurement (times ``cold_safety``), not from the defaults.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rewardsmith.core import settings
from rewardsmith.core.results import ComponentOutcome, SampleResult
from rewardsmith.core.wire import MetricCache, lambda_row

if TYPE_CHECKING:
    from rewardsmith.core.pack import Pack

# Rows sampled to time the runtime's encoding of the answer: 128 underestimated a 100,000-row
# answer 2.5 times (a large answer encodes slower per row); 1,024 comes within 1.2-1.5.
_ENCODE_PROBE_ROWS = 1024
# Rows built in a cold probe (before the first batch): enough to time both per-row costs
# above timer noise, few enough to cost a few milliseconds.
COLD_PROBE_ROWS = 256
# A cold probe runs only when the default reserve is at least this share of the budget:
# below it, the probe (20-60 ms on a busy 2-core box) costs more than the scoring time the
# smaller reserve it measures could give back.
_PROBE_SHARE = 0.05
# Time left after the rows, in multiples of the encoding estimate, above which time is
# ample: the answer's encoding is then not timed in full (AnswerCosts.learn_encoding); far
# from the deadline an estimate too high costs nothing, and timing half of a 2,000-row
# answer cost 25-170 ms of every invocation (issue 13).
AMPLE_TIME = 4.0
# With ample time, an encoding figure no full timing covers is checked on this many rows,
# once, and counted this many times over (issue 10: 128 rows underestimated a 100,000-row
# answer 2.5 times): 1-3 ms where a full timing cost 25-80 ms of every invocation's tail.
QUICK_PROBE_ROWS = 128
QUICK_PROBE_FACTOR = 3.0
# A full timing stays current for answers up to its size, with metrics per row within this
# share of its own, for this many invocations.
_SHAPE_TOLERANCE = 0.25
# Fewer rows than this time nothing but the timer and the encoder's first call: a figure
# learnt from them (and counted three times over) could inflate the next big answer's
# reserve, so they are not timed.
_MIN_TIMED_ROWS = 16
_TIMING_KEPT = 16
# The runtimes whose awslambdaric encodes with ensure_ascii=False.
_UNESCAPED_RUNTIMES = frozenset(
    f"AWS_Lambda_python3.{minor}" for minor in (12, 13, 14, 15))


def runtime_encoder() -> Callable[[Any], str]:
    """The encoding the Lambda runtime applies to the handler's answer: ``simplejson`` with
    ``awslambdaric``'s options when importable, else the standard library's ``json`` with
    the same ``ensure_ascii`` and ``allow_nan`` (module docstring)."""
    ensure_ascii = settings.get("AWS_EXECUTION_ENV") not in _UNESCAPED_RUNTIMES
    try:
        import simplejson  # type: ignore[import-untyped]
    except ImportError:
        return json.JSONEncoder(ensure_ascii=ensure_ascii, allow_nan=True).encode
    encoder = simplejson.JSONEncoder(use_decimal=False, ensure_ascii=ensure_ascii,
                                     allow_nan=True)
    return encoder.encode  # type: ignore[no-any-return]


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
    #: A probe of a few hundred rows sees neither the collections nor the slower per-row
    #: encoding of a 100,000-row answer: its figures count this many times (on top of
    #: ``safety``) until a batch is learnt.
    cold_safety: float = 1.5
    #: Whether anything was measured yet (a probe or a batch).
    measured: bool = False
    #: The last full timing of an answer's encoding: its rows and metrics per row, and
    #: the invocations since (see :meth:`learn_encoding`).
    timed_rows: int = 0
    timed_metrics: float = 0.0
    since_timed: int = 0

    def reserve(self, samples: int) -> float:
        """Seconds to keep back from the engine for ``samples`` rows, encoded."""
        return self.fixed_s + samples * (self.row_s + self.encode_s) * self.safety

    def encode_reserve(self, samples: int) -> float:
        """Seconds to keep back, once the rows are built, for their encoding."""
        return self.fixed_s + samples * self.encode_s * self.safety

    def learn_rows(self, samples: int, seconds: float) -> None:
        """Record that building ``samples`` rows took ``seconds``."""
        if samples >= 64:
            self.row_s = self._learnt(self.row_s, seconds / samples)

    def probe_rows(self, build: Callable[[int], dict[str, Any]],
                   count: int = COLD_PROBE_ROWS) -> bool:
        """Measure, before anything was learnt, what building (``build(i)`` for ``i <
        count``) and encoding rows costs, and take ``cold_safety`` times the measured
        figures (the fastest of five passes each: on a shared CPU noise only adds), never
        more than the defaults (which assume the slowest CPU: a probe cannot tell a slow
        CPU from a busy one, and the first batch learnt raises them at once). Returns
        whether the figures were taken; a ``build`` that raises, or rows the encoder
        refuses, leave the defaults."""
        if self.measured or count < 16:
            return False
        builds, encodes = [], []
        encode = runtime_encoder()
        try:
            for _ in range(5):
                started = time.perf_counter()
                rows = [build(i) for i in range(count)]
                builds.append(time.perf_counter() - started)
                started = time.perf_counter()
                encode(rows)
                encodes.append(time.perf_counter() - started)
        except Exception:  # nothing measured: the conservative defaults stand
            return False
        self.row_s = min(self.row_s, min(builds) / count * self.cold_safety)
        self.encode_s = min(self.encode_s, min(encodes) / count * self.cold_safety)
        self.measured = True
        return True

    def worth_probing(self, samples: int, budget_s: float) -> bool:
        """Whether a cold probe (:meth:`probe_rows`) may pay for itself before a batch of
        ``samples`` with ``budget_s`` seconds: only when the default reserve is at least
        ``_PROBE_SHARE`` of the budget (issue 13: a 2,000-sample first invocation with
        minutes of budget spent 20-60 ms probing to shrink a 0.17 s reserve it never
        needed, before its first judge call)."""
        return (not self.measured and samples >= COLD_PROBE_ROWS
                and self.reserve(samples) >= _PROBE_SHARE * budget_s)

    def learn_encoding(self, rows: list[dict[str, Any]], *, ample: bool) -> float:
        """Learn what the runtime's encoding of ``rows`` costs and return the estimate for
        all of them (seconds), timing no more than the estimate needs (issue 13: timing a
        1,024-row spread of every answer cost 40-80 ms of a 10 s invocation's tail).

        * Time short (``ample`` false): three timings of a 1,024-row spread
          (:meth:`probe_encoding`); their median is learnt, up at once, down by halves.
        * Time ample, and a full timing is current (an answer at least this large, with
          metrics per row within a quarter of these, timed in the last 16 invocations): no
          timing; the learnt figure stands.
        * Time ample, fewer than 16 rows: no timing (it would time the timer).
        * Time ample, no current timing (the first answer, a larger one, another row
          shape, or 16 invocations on): one timing of a 128-row spread, counted three
          times over, may raise the figure, never lower it. A small spread underestimates
          a large answer (issue 10), hence the factor; far from the deadline an estimate
          that is too high costs nothing this time, and the next answer that is short of
          time times itself in full.
        """
        if not rows:
            return 0.0
        metrics = _metrics_per_row(rows)
        self.since_timed += 1
        if not ample:
            estimate = self.probe_encoding(rows, passes=3)
            self.timed_rows, self.timed_metrics, self.since_timed = len(rows), metrics, 0
            return estimate
        current = (self.timed_rows >= len(rows) and self.since_timed <= _TIMING_KEPT
                   and abs(metrics - self.timed_metrics)
                   <= _SHAPE_TOLERANCE * max(self.timed_metrics, 1.0))
        if not current and len(rows) >= _MIN_TIMED_ROWS:
            step = max(1, len(rows) // QUICK_PROBE_ROWS)
            probe = rows[::step][:QUICK_PROBE_ROWS]
            started = time.perf_counter()
            try:
                runtime_encoder()(probe)
            except (TypeError, ValueError):  # the runtime would fail too; nothing to learn
                return len(rows) * self.encode_s
            per_row = (time.perf_counter() - started) / len(probe) * QUICK_PROBE_FACTOR
            self.encode_s = max(self.encode_s, per_row)
            self.measured = True
        return len(rows) * self.encode_s

    def probe_encoding(self, rows: list[dict[str, Any]], *, passes: int = 3) -> float:
        """Time the runtime's encoding (:func:`runtime_encoder`) of a spread of ``rows``
        (the median of ``passes`` timings), learn the per-row cost and return the estimate
        for all of them (seconds)."""
        if not rows:
            return 0.0
        step = max(1, len(rows) // _ENCODE_PROBE_ROWS)
        probe = rows[::step][:_ENCODE_PROBE_ROWS]
        encode = runtime_encoder()
        timings = []
        for _ in range(max(1, passes)):  # of three, one paused probe does not decide
            started = time.perf_counter()
            try:
                encode(probe)
            except (TypeError, ValueError):  # the runtime would fail too; nothing to learn
                return len(rows) * self.encode_s
            timings.append(time.perf_counter() - started)
        per_row = sorted(timings)[len(timings) // 2] / len(probe)
        if len(probe) >= _MIN_TIMED_ROWS:
            self.encode_s = self._learnt(self.encode_s, per_row)
        return len(rows) * per_row

    def _learnt(self, old: float, new: float) -> float:
        """Up at once, down by halves (from a cold probe's doubled figures too)."""
        self.measured = True
        return _blend(old, new)


def _metrics_per_row(rows: list[dict[str, Any]]) -> float:
    """The mean length of ``metrics_list`` over a spread of at most 128 of ``rows``."""
    step = max(1, len(rows) // QUICK_PROBE_ROWS)
    spread = rows[::step][:QUICK_PROBE_ROWS]
    return sum(len(row.get("metrics_list", ())) for row in spread) / len(spread)


def _blend(old: float, new: float) -> float:
    """Up at once, down by halves."""
    return new if new >= old else (old + new) / 2


def probe_row_builder(pack: Pack, *, failure_reward: float,
                      judge_ids: frozenset[str]) -> Callable[[int], dict[str, Any]]:
    """``build(i)``: the wire row of a made-up scored result for ``pack`` (every component
    scored, values varying with ``i`` so equal metric entries are shared no more than in a
    real answer), built as the handler builds its rows (:func:`~rewardsmith.core.wire
    .lambda_row` with a :class:`~rewardsmith.core.wire.MetricCache`)."""
    components = [(c.config.id, c.config.type, c.config.effective_weight, c.value_range)
                  for c in pack.components]
    cache = MetricCache()

    def build(i: int) -> dict[str, Any]:
        share = (i % 997) / 997
        outcomes = {}
        for cid, kind, weight, (lo, hi) in components:
            value = lo + (hi - lo) * share if math.isfinite(hi - lo) else share
            outcomes[cid] = ComponentOutcome(cid, kind, weight, value, raw_value=value,
                                             passed=share >= 0.5)
        result = SampleResult(id=f"probe-{i}", index=i, reward=share, status="ok",
                              pack=pack.ref, components=outcomes, response_chars=64 + i)
        return lambda_row(result, failure_reward=failure_reward, judge_ids=judge_ids,
                          cache=cache)

    return build
