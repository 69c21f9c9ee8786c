"""The jury judge: several judge models score the same rubric request, and their verdicts
are aggregated by majority or mean; how much the jurors agree is measured per sample and,
over a batch or a test suite, per pair of jurors (:func:`jury_agreement`).

Why measure agreement: a jury only helps when its members err independently (Verga et al.,
2024, "Replacing Judges with Juries", arXiv:2404.18796, pool diverse model families for
this reason). Two jurors that always agree, or whose errors against the expected labels
correlate, add cost without adding a vote.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.core.telemetry import current_telemetry
from rewardsmith.plugins.judges.calling import CallStats
from rewardsmith.plugins.judges.rubric_judge import RubricJudge

JUROR_PREFIX = "juror."


def _refuse_identical_jurors(names: Sequence[str],
                             identities: Sequence[Mapping[str, Any]]) -> None:
    """Refuse jurors whose settings would be answered by one call.

    Identical requests to identical settings are one request: the in-batch de-duplication
    (``core/judge_cache.py``) answers the second juror with the first juror's verdict, as
    the verdict cache would across batches, so a "self-consistency" jury of one model at
    temperature 1.0 would vote one sampled verdict several times with agreement 1.0.
    Compared on what shapes the answer (``JudgeBackendConfig.cache_identity``: retries,
    rate limits and prices do not make another juror).

    Raises:
        ValueError: two jurors share those settings, naming both and what to change.
    """
    for (a, first), (b, second) in itertools.combinations(enumerate(identities), 2):
        if first == second:
            shown = ", ".join(f"{k} = {v!r}" for k, v in sorted(first.items())
                              if v is not None and k in ("backend", "model", "temperature",
                                                         "top_p", "max_tokens"))
            raise ValueError(
                f"jurors {a + 1} ({names[a]!r}) and {b + 1} ({names[b]!r}) have the same "
                f"judge settings ({shown}): one call would answer both (identical requests "
                "are de-duplicated and cached), so the second would only repeat the first's "
                "verdict. Give each juror a different model (or other sampling settings); "
                "a jury of repeated samples of one model is not supported "
                "(docs/judges.md#juries)")


class JuryJudge(RubricJudge):
    """A rubric judge answered by every juror; the verdicts are aggregated."""

    class Config(RubricJudge.Config):  # type: ignore[name-defined]
        type: Literal["jury-judge"] = "jury-judge"  # type: ignore[assignment]
        jurors: list[dict[str, Any]] = Field(
            min_length=2, description="One override of the [judge] table per juror "
            "(e.g. [{model = \"a\"}, {model = \"b\"}, {model = \"c\"}]).",
        )
        juror_names: list[str] = Field(
            default_factory=list, description="A name per juror for results and reports "
            "(default: the juror's model).",
        )
        vote: Literal["majority", "mean"] = Field(
            default="majority", description="majority: the reward is 1 when more than half "
            "of the jurors pass, 0 when fewer, 0.5 on a tie; mean: the mean of the jurors' "
            "values (passed when at least half pass).",
        )

        @model_validator(mode="after")
        def _jury(self) -> JuryJudge.Config:
            if self.juror_names and len(self.juror_names) != len(self.jurors):
                raise ValueError(f"juror_names has {len(self.juror_names)} names for "
                                 f"{len(self.jurors)} jurors")
            if self.aggregation == "implicit" and self.pass_threshold is None:
                raise ValueError("a jury on implicit aggregation needs pass_threshold: "
                                 "agreement and majority are counted on passed/failed")
            return self

    summary: ClassVar[str] = ("LLM jury: several judge models on one rubric, majority or "
                              "mean, inter-judge agreement measured")

    def __init__(self, config: JuryJudge.Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        if config.budget is not None:
            raise ValueError("budget is supported on rubric-judge only, not on jury-judge "
                             "(docs/judges.md#budgets)")
        self.config: JuryJudge.Config = config
        self.juror_settings = [context.validate_judge_settings(j) for j in config.jurors]
        names = config.juror_names or [str(s.get("model")) for s in self.juror_settings]
        if len(set(names)) != len(names):
            raise ValueError(f"juror names {names} repeat; give juror_names")
        self.juror_names = names
        _refuse_identical_jurors(names, [context.judge_identity(s)
                                         for s in self.juror_settings])

    async def _juror(self, settings: dict[str, Any], sample: Sample, stats: CallStats
                     ) -> Score:
        request, criteria = self.request_for(sample)
        return await self.judge_with(self.context.judge_backend(settings), request, criteria,
                                     stats)

    async def score(self, sample: Sample) -> Score:  # type: ignore[override]
        self.criteria_for(sample)  # a missing criterion fails before any call
        stats = CallStats()
        outcomes = await asyncio.gather(
            *(self._juror(s, sample, stats) for s in self.juror_settings),
            return_exceptions=True)
        votes: dict[str, Score] = {}
        failed: dict[str, str] = {}
        errors: list[ComponentError] = []
        for name, outcome in zip(self.juror_names, outcomes, strict=True):
            if isinstance(outcome, Score):
                votes[name] = outcome
                continue
            if not isinstance(outcome, Exception):
                raise outcome  # cancellation, SystemExit: not a juror's failure
            # An unclassified exception in one juror leaves that juror out, named, like any
            # other failing juror (docs/judges.md#juries).
            error = outcome if isinstance(outcome, ComponentError) else ComponentError(
                f"{type(outcome).__name__}: {outcome}", kind=ErrorKind.JUDGE_INTERNAL_ERROR)
            failed[name] = str(error.kind)
            errors.append(error)
        if not votes:
            first = errors[0]
            raise ComponentError(f"every juror failed: {first}", kind=first.kind,
                                 measurements={**first.measurements, "jurors_voted": 0,
                                               "jurors_failed": len(failed),
                                               **stats.measurements()})
        passes = [bool(v.passed) for v in votes.values()]
        share = sum(passes) / len(passes)
        if self.config.vote == "majority":
            value = 1.0 if share > 0.5 else 0.0 if share < 0.5 else 0.5
        else:
            value = statistics.fmean(v.value for v in votes.values())
        pairs = list(itertools.combinations(passes, 2))
        agreement = sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0
        telemetry = current_telemetry()
        telemetry.record_judge_stat(self.config.id, "jury_agreement", agreement)
        telemetry.record_judge_stat(self.config.id, "jurors_failed", len(failed))
        measurements: dict[str, Any] = {f"{JUROR_PREFIX}{n}": round(v.value, 6)
                                        for n, v in votes.items()}
        measurements.update({
            "jury_agreement": round(agreement, 6),
            "jury_spread": round(max(v.value for v in votes.values())
                                 - min(v.value for v in votes.values()), 6),
            "jurors_voted": len(votes),
            "jurors_failed": len(failed),
            **stats.measurements(),
        })
        verdicts = "; ".join(f"{n}: {'pass' if v.passed else 'fail'} ({v.value:.2f})"
                             for n, v in votes.items())
        return Score(
            value=value, passed=share >= 0.5 if self.config.vote == "mean" else share > 0.5,
            rationale=f"jury {self.config.vote} of {len(votes)}: {verdicts}"[:600],
            measurements=measurements,
            details={"jury": {n: {"value": v.value, "passed": v.passed,
                                  "rationale": v.rationale[:300]} for n, v in votes.items()},
                     "jurors_failed": failed},
            partial_error_kind=next(iter(failed.values()), None),
        )


def _pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson correlation; None when fewer than two points or a constant series."""
    if len(x) < 2:
        return None
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _kappa(x: Sequence[bool], y: Sequence[bool]) -> float | None:
    n = len(x)
    observed = sum(a == b for a, b in zip(x, y, strict=True)) / n
    px, py = sum(x) / n, sum(y) / n
    chance = px * py + (1 - px) * (1 - py)
    return None if chance >= 1.0 else (observed - chance) / (1.0 - chance)


def jury_agreement(juror_values: Sequence[Mapping[str, float]],
                   labels: Sequence[float | None] | None = None,
                   threshold: float = 0.5) -> dict[str, Any]:
    """Agreement between each pair of jurors over many samples.

    ``juror_values`` holds, per sample, each juror's value in [0, 1] (the ``juror.<name>``
    measurements of a jury judge); a juror "passes" a sample at ``value >= threshold``.
    ``labels`` (optional, per sample, in [0, 1] or None) are the expected values; a juror's
    error on a sample is ``value - label``.

    Returns ``{"samples": n, "pairs": {"a|b": {"n", "agreement", "kappa",
    "value_correlation", "error_correlation"}}}``: agreement is the share of samples on
    which the two pass or fail alike, kappa Cohen's kappa of those pass/fail votes,
    value_correlation the Pearson correlation of their values, error_correlation that of
    their errors against the labels (None without labels, or for a constant series).
    """
    names = sorted({name for row in juror_values for name in row})
    pairs: dict[str, Any] = {}
    for a, b in itertools.combinations(names, 2):
        both = [(row[a], row[b], labels[k] if labels is not None else None)
                for k, row in enumerate(juror_values) if a in row and b in row]
        if not both:
            continue
        va = [x for x, _, _ in both]
        vb = [y for _, y, _ in both]
        pa = [x >= threshold for x in va]
        pb = [y >= threshold for y in vb]
        labelled = [(x - lab, y - lab) for x, y, lab in both if lab is not None]
        pairs[f"{a}|{b}"] = {
            "n": len(both),
            "agreement": sum(p == q for p, q in zip(pa, pb, strict=True)) / len(both),
            "kappa": _kappa(pa, pb),
            "value_correlation": _pearson(va, vb),
            "error_correlation": _pearson([e for e, _ in labelled], [f for _, f in labelled])
            if labelled else None,
        }
    return {"samples": len(juror_values), "pairs": pairs}


def juror_values_of(measurements: Mapping[str, Any]) -> dict[str, float]:
    """The ``juror.<name>`` values in a jury judge's measurements."""
    return {k[len(JUROR_PREFIX):]: float(v) for k, v in measurements.items()
            if k.startswith(JUROR_PREFIX) and isinstance(v, int | float)
            and not isinstance(v, bool)}
