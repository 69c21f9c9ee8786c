"""Scores from the judge's distribution over verdict values instead of the sampled token.

With ``score_from = "distribution"`` a rubric judge reads the log-probabilities the
endpoint returned for its reply and replaces each sampled verdict by its expectation over
the values the verdict can take:

* a holistic score on ``scale = [low, high]``: ``E[s] = sum(s * p(s)) / sum(p(s))`` over
  the integers of the scale (G-Eval, Liu et al. 2023, arXiv:2303.16634, section 2.3: "use
  the probabilities of output tokens ... to normalize the scores and take their weighted
  summation");
* a pass/fail criterion: ``P(pass) = p(pass) / (p(pass) + p(fail))``;
* a criterion with levels: the expected level score over its levels.

**What the endpoint returns.** OpenAI-compatible servers answer ``logprobs = true,
top_logprobs = k`` with ``choices[0].logprobs.content``: one entry per *generated* token,
``{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}, ...]}``,
where ``top_logprobs`` are the k most likely tokens *at that position, given the tokens
actually sampled before it* (OpenAI:
https://platform.openai.com/docs/api-reference/chat/object, ``ChatCompletionTokenLogprob``
in openai-python ``types/chat/chat_completion_token_logprob.py``, ``-9999.0`` meaning "very
unlikely"; vLLM ``vllm/entrypoints/openai/serving_chat.py::_create_chat_logprobs`` builds the
same list from each step's top-k, the sampled token included; llama.cpp
``examples/server/utils.hpp::completion_token_output::probs_to_json`` likewise, with the
sampled token's ``logprob`` taken from the step's list). A value's text may span several
tokens: Qwen2.5, Llama-2, Mistral and DeepSeek split numbers into single digits ("10" is
"1", "0"), a sign is its own token, a word may be split ("pa", "ss") and a token may carry
a leading space or the opening quote.

**How a value's probability is read (exactly).** The walk follows the sampled tokens of the
value, with ``path`` the probability of the sampled prefix so far. At each position, every
alternative ``a`` (probability ``p``) extends the prefix to ``c = prefix + a``:

* ``c`` completes a value ``v`` (``v`` followed by a character that ends it: not a digit for
  numbers, the closing quote for words): ``P(v) += path * p``;
* ``c`` is the start of exactly one value ``v`` and ``a`` was not sampled: the tokens after
  ``a`` were never returned, but only ``v`` can follow, so ``P(v) += path * p`` (e.g. "9" on
  a 1-10 scale can only be 9);
* ``c`` is the start of several values and ``a`` was not sampled (e.g. "1" on a 1-10 scale
  when "8" was sampled: 1 or 10): the split of that mass was never returned. The
  expectation is bounded by giving it all to the lowest and all to the highest of them;
  when the bounds differ by more than :data:`AMBIGUITY_TOLERANCE` (on the normalised
  [0, 1] value) the distribution cannot be read;
* the sampled token extends the prefix, ``path *= p(sampled)``, and the walk moves on.

Alternatives outside the top-k are not returned; their mass is left out and the
expectation normalised over the mass on valid values (reported as ``verdict_mass``), as
G-Eval does. Where the distribution cannot be read (no log-probabilities, a value not found
in the tokens, a position without ``top_logprobs``, the sampled token's probability
missing, an ambiguous prefix as above, no mass on valid values), the sampled score is kept
and the fallback reported: ``score_source = "sampled_fallback"`` and
``distribution_fallback_reason`` in the row's measurements, the telemetry statistic
``distribution_fallback`` and one judge notice per component and reason - never a wrong
number. The sampled verdict still decides ``passed`` for criteria; only values become
expectations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.results import Score
from rewardsmith.core.telemetry import current_telemetry
from rewardsmith.plugins.judges.rubric import Criterion

#: Widest interval (on the normalised [0, 1] value) an ambiguous prefix may leave the
#: expectation in; the midpoint is used then (within half of this of the exact value).
AMBIGUITY_TOLERANCE = 0.01
# Rounding in the servers' log-probabilities: a value's mass may exceed 1, and a logprob 0,
# by this much before they are taken for something other than probabilities.
MASS_TOLERANCE = 1e-3


class DistributionUnreadable(RewardsmithError):
    """The verdict's distribution cannot be read exactly; ``reason`` is a short tag
    (``no_logprobs``, ``value_not_found``, ``no_top_logprobs``, ``sampled_probability_missing``,
    ``ambiguous_prefix``, ``no_valid_mass``, ``reply_ends_in_value``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenText:
    """The reply text rebuilt from its tokens, with each token's start offset."""

    text: str
    starts: list[int]
    tokens: list[dict[str, Any]]

    @classmethod
    def of(cls, logprobs: Sequence[dict[str, Any]]) -> TokenText:
        starts: list[int] = []
        parts: list[str] = []
        offset = 0
        for entry in logprobs:
            token = str(entry.get("token", "")) if isinstance(entry, dict) else ""
            starts.append(offset)
            parts.append(token)
            offset += len(token)
        return cls("".join(parts), starts,
                   [e if isinstance(e, dict) else {} for e in logprobs])

    def index_at(self, offset: int) -> int | None:
        """The index of the token whose text covers character ``offset``."""
        for k in range(len(self.starts) - 1, -1, -1):
            if self.starts[k] <= offset:
                end = self.starts[k] + len(str(self.tokens[k].get("token", "")))
                return k if offset < end else None
        return None


@dataclass(frozen=True, slots=True)
class ValueKind:
    """The values a verdict field can take, as their JSON text, and what ends one."""

    values: Mapping[str, float]  # JSON text of each value -> its numeric value
    ends: Callable[[str], bool]  # does this character end a value's text?
    #: JSON allows whitespace before a number; inside a string a space is part of it.
    space_before: bool

    @classmethod
    def integers(cls, values: Mapping[int, float]) -> ValueKind:
        return cls({str(v): x for v, x in values.items()},
                   lambda ch: not (ch.isdigit() or ch in ".eE"), True)

    @classmethod
    def words(cls, values: Mapping[str, float]) -> ValueKind:
        return cls(dict(values), lambda ch: ch == '"', False)


@dataclass
class ValueDistribution:
    """Unnormalised probabilities of the values, and masses that could be several."""

    probs: dict[str, float] = field(default_factory=dict)
    ambiguous: list[tuple[float, list[str]]] = field(default_factory=list)
    #: The value the sampled tokens spell (None: they left the valid values).
    sampled: str | None = None

    def expectation(self, kind: ValueKind, span: float) -> tuple[float, float, float]:
        """``(expectation, mass, half-width)``; raises DistributionUnreadable when no mass
        falls on valid values or an ambiguous mass leaves the expectation uncertain by
        more than :data:`AMBIGUITY_TOLERANCE` of ``span`` (the values' range)."""
        mass = sum(self.probs.values()) + sum(m for m, _ in self.ambiguous)
        if mass <= 0:
            raise DistributionUnreadable("no_valid_mass", "no probability on a valid value")
        if mass > 1.0 + MASS_TOLERANCE:
            # Probabilities of one position cannot add up to more than 1: the endpoint's
            # log-probabilities are not a distribution (positive, or repeated tokens).
            raise DistributionUnreadable("mass_above_one", f"the returned probabilities of "
                                         f"the verdict value add up to {mass:.4g}, above 1")
        known = sum(kind.values[v] * p for v, p in self.probs.items())
        low = known + sum(m * min(kind.values[v] for v in vs) for m, vs in self.ambiguous)
        high = known + sum(m * max(kind.values[v] for v in vs) for m, vs in self.ambiguous)
        low, high = low / mass, high / mass
        if (high - low) > AMBIGUITY_TOLERANCE * span:
            raise DistributionUnreadable(
                "ambiguous_prefix", f"{sum(m for m, _ in self.ambiguous):.3g} of the "
                "probability is on a token that starts several values (e.g. '1' of 1 and 10) "
                "whose next tokens the endpoint did not return")
        return (low + high) / 2, mass, (high - low) / 2


def _probability(entry: dict[str, Any]) -> float | None:
    """The probability of a token entry; None when its ``logprob`` is not one (missing,
    not finite, a server's -9999 "not computed", or above 0 beyond rounding)."""
    logprob = entry.get("logprob")
    if isinstance(logprob, int | float) and not isinstance(logprob, bool) \
            and math.isfinite(logprob) and -9999.0 < logprob <= MASS_TOLERANCE:
        return math.exp(min(0.0, float(logprob)))
    return None


def alternatives(entry: dict[str, Any]) -> dict[str, float]:
    """Probabilities of the tokens at a position by their text: its ``top_logprobs``
    (distinct tokens of equal text summed) plus the sampled token when the list leaves it
    out. Raises DistributionUnreadable when the position has no ``top_logprobs``."""
    top = entry.get("top_logprobs")
    if not isinstance(top, list) or not top:
        raise DistributionUnreadable("no_top_logprobs", "a verdict token came back without "
                                     "top_logprobs")
    out: dict[str, float] = {}
    for alt in top:
        if not isinstance(alt, dict):
            continue
        text, p = str(alt.get("token", "")), _probability(alt)
        if text and p is not None:
            out[text] = out.get(text, 0.0) + p
    sampled = str(entry.get("token", ""))
    p = _probability(entry)
    if sampled not in out and p is not None:
        out[sampled] = p
    return out


def _after_lead(text: str, lead: str, space_before: bool) -> str | None:
    """``text`` without the characters of the first token that precede the value (a space,
    a quote, ``": "``); None when an alternative does not start that way."""
    if text.startswith(lead):
        rest = text[len(lead):]
        return rest.lstrip() if space_before else rest
    core, stripped = lead.strip(), text.lstrip()
    if not core:
        return stripped if space_before else None
    if not stripped.startswith(core):
        return None
    rest = stripped[len(core):]
    return rest.lstrip() if space_before else rest


def value_distribution(tokens: TokenText, start: int, kind: ValueKind) -> ValueDistribution:
    """The distribution of the value whose sampled text starts at character ``start`` of
    the reply (see the module docstring); raises DistributionUnreadable."""
    k = tokens.index_at(start)
    if k is None:
        raise DistributionUnreadable("value_not_found", "the verdict value is not in the "
                                     "returned tokens")
    out = ValueDistribution()
    lead = tokens.text[tokens.starts[k]:start]
    prefix, path, first = "", 1.0, True
    while k < len(tokens.tokens):
        entry = tokens.tokens[k]
        sampled = str(entry.get("token", ""))
        options = alternatives(entry)
        p_sampled = _probability(entry) or options.get(sampled)
        if p_sampled is None:
            raise DistributionUnreadable("sampled_probability_missing", "the sampled verdict "
                                         "token came back without its probability")
        next_prefix: str | None = None
        for text, p in options.items():
            rest = _after_lead(text, lead, kind.space_before) if first else text
            if rest is None:
                continue
            c = prefix + rest
            closed = next((v for v in kind.values
                           if len(c) > len(v) and c.startswith(v) and kind.ends(c[len(v)])),
                          None)
            if closed is not None:
                out.probs[closed] = out.probs.get(closed, 0.0) + path * p
                if text == sampled:
                    out.sampled = closed
                continue
            starts = [v for v in kind.values if v.startswith(c)]
            if text == sampled and starts:
                next_prefix = c
            elif len(starts) == 1:
                out.probs[starts[0]] = out.probs.get(starts[0], 0.0) + path * p
            elif starts:
                out.ambiguous.append((path * p, starts))
        if next_prefix is None:
            return out  # the sampled token ended the value (or left the valid values)
        prefix, path, first = next_prefix, path * p_sampled, False
        k += 1
    raise DistributionUnreadable("reply_ends_in_value", "the returned tokens end inside the "
                                 "verdict value")


def _last(pattern: str, text: str) -> re.Match[str] | None:
    found = None
    for found in re.finditer(pattern, text):  # noqa: B007 (the last match is wanted)
        pass
    return found


def _read(logprobs: Sequence[dict[str, Any]], pattern: str, kind: ValueKind,
          span: float, verdict: object) -> tuple[float, float, float]:
    """The expectation of the value ``pattern`` finds last in the tokens, which must spell
    ``verdict``, the value the parsed verdict holds (a proxy or reasoning parser may rewrite
    the content and pass the log-probabilities through: they are then of another reply)."""
    tokens = TokenText.of(logprobs)
    found = _last(pattern, tokens.text)
    if found is None:
        raise DistributionUnreadable("value_not_found", "the verdict value is not in the "
                                     "returned tokens")
    distribution = value_distribution(tokens, found.start(1), kind)
    if distribution.sampled != str(verdict):
        raise DistributionUnreadable("tokens_disagree", f"the returned tokens spell "
                                     f"{distribution.sampled!r} where the verdict says "
                                     f"{str(verdict)!r}")
    return distribution.expectation(kind, span)


def holistic_expectation(logprobs: Sequence[dict[str, Any]], low: int, high: int,
                         verdict: int) -> tuple[float, float, float]:
    """``(expected score on [low, high], mass, half-width)`` of the verdict's last
    ``"score": <n>``, whose tokens must spell ``verdict`` (the parsed score); raises
    DistributionUnreadable."""
    kind = ValueKind.integers({v: float(v) for v in range(low, high + 1)})
    return _read(logprobs, r'"score"\s*:\s*(-?\d)', kind, float(high - low), verdict)


def criterion_expectation(logprobs: Sequence[dict[str, Any]], criterion: Criterion,
                          verdict: object) -> tuple[float, float, float]:
    """``(expected value in [0, 1], mass, half-width)`` of a criterion: P(pass) for
    pass/fail, the expected level value for levels; its tokens must spell ``verdict`` (the
    parsed verdict or level); raises DistributionUnreadable."""
    key = re.escape(criterion.id)
    if criterion.levels is None:
        return _read(logprobs, rf'"{key}"\s*:\s*\{{[^{{}}]*?"verdict"\s*:\s*"(\w)',
                     ValueKind.words({"pass": 1.0, "fail": 0.0}), 1.0, verdict)
    kind = ValueKind.integers({s: criterion.value_of_level(s) for s in criterion.level_scores})
    return _read(logprobs, rf'"{key}"\s*:\s*\{{[^{{}}]*?"level"\s*:\s*(-?\d)', kind, 1.0,
                 verdict)


def from_distribution(score: Score, logprobs: Sequence[dict[str, Any]] | None,
                      criteria: Sequence[Criterion], scale: tuple[int, int] | None,
                      component_id: str) -> Score:
    """``score`` (a rubric judge's, from the sampled verdict) with its values replaced by
    expectations over ``logprobs``: the holistic score when ``scale`` is given, else each
    criterion's value and the weighted mean. Falls back to ``score`` as it is, reported
    (measurements ``score_source``, ``distribution_fallback_reason``; telemetry), when any
    expectation cannot be read exactly."""
    telemetry = current_telemetry()
    expectations: dict[str, tuple[float, float, float]] = {}
    try:
        if not logprobs:
            raise DistributionUnreadable("no_logprobs", "the reply has no log-probabilities")
        if scale is not None:
            expectations["holistic_score"] = holistic_expectation(
                logprobs, *scale, score.measurements["holistic_score"])
        else:
            sampled = score.details.get("criteria", {})
            for c in criteria:
                try:
                    expectations[c.id] = criterion_expectation(
                        logprobs, c, sampled.get(c.id, {}).get("verdict"))
                except DistributionUnreadable as exc:
                    raise DistributionUnreadable(exc.reason,
                                                 f"criterion {c.id!r}: {exc}") from None
    except DistributionUnreadable as exc:
        telemetry.record_judge_stat(component_id, "distribution_fallback", 1.0)
        telemetry.record_judge_notice(
            f"distribution_fallback:{component_id}:{exc.reason}",
            f"judge: component {component_id!r}: score_from = 'distribution' kept the sampled "
            f"value for some samples ({exc.reason}: {exc}); see distribution_fallback_reason "
            "in their rows")
        score.measurements["score_source"] = "sampled_fallback"
        score.measurements["distribution_fallback_reason"] = exc.reason
        return score
    telemetry.record_judge_stat(component_id, "distribution_fallback", 0.0)
    score.measurements["score_source"] = "distribution"
    score.measurements["sampled_value"] = score.value
    uncertainty = 0.0
    if scale is not None:
        low, high = scale
        expected, mass, half = expectations["holistic_score"]
        score.value = (expected - low) / (high - low)
        score.measurements["holistic_expected"] = round(expected, 6)
        score.measurements["verdict_mass"] = round(mass, 6)
        uncertainty = half / (high - low)
    else:
        total = sum(c.weight for c in criteria)
        score.value = sum(c.weight * expectations[c.id][0] for c in criteria) / total
        for c in criteria:
            score.measurements[c.id] = round(expectations[c.id][0], 6)
            score.details.setdefault("criteria", {}).setdefault(c.id, {})["expected"] = \
                round(expectations[c.id][0], 6)
        score.measurements["verdict_mass"] = round(min(m for _, m, _ in
                                                       expectations.values()), 6)
        uncertainty = sum(c.weight * expectations[c.id][2] for c in criteria) / total
    if uncertainty > 0:
        # An ambiguous prefix within the tolerance: the value is the midpoint of its bounds.
        score.measurements["distribution_uncertainty"] = round(uncertainty, 6)
    return score
