"""Scores from the judge's distribution over verdict tokens instead of the sampled token.

With ``score_from = "distribution"`` a rubric judge reads the log-probabilities the
endpoint returned for its reply (OpenAI-compatible servers: ``logprobs`` and
``top_logprobs`` of ``/v1/chat/completions``,
https://platform.openai.com/docs/api-reference/chat/create; vLLM and SGLang serve the same
fields) and replaces each sampled verdict by its expectation:

* a holistic score on ``scale = [low, high]``: ``E[s] = sum(s * p(s)) / sum(p(s))`` over
  the alternatives at the score's token that are integers on the scale (G-Eval, Liu et al.
  2023, arXiv:2303.16634, section 2.3: "use the probabilities of output tokens ... to
  normalize the scores and take their weighted summation");
* a pass/fail criterion: ``P(pass) = p(pass) / (p(pass) + p(fail))`` at the verdict's
  first token;
* a criterion with levels: the expected level score over the levels' tokens.

The sampled verdict still decides ``passed``; only the values become expectations. When a
reply has no usable log-probabilities (a cached reply recorded without them, a server
that ignores the request, a verdict token not found), the sampled score is kept and the
fallback is reported (``score_source = "sampled_fallback"`` and the telemetry statistic
``distribution_fallback``), never silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.results import Score
from rewardsmith.core.telemetry import current_telemetry
from rewardsmith.plugins.judges.rubric import Criterion


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
            token = str(entry.get("token", ""))
            starts.append(offset)
            parts.append(token)
            offset += len(token)
        return cls("".join(parts), starts, list(logprobs))

    def token_at(self, offset: int) -> dict[str, Any] | None:
        """The token whose text covers character ``offset``."""
        for k in range(len(self.starts) - 1, -1, -1):
            if self.starts[k] <= offset:
                end = self.starts[k] + len(str(self.tokens[k].get("token", "")))
                return self.tokens[k] if offset < end else None
        return None


def alternatives(token: dict[str, Any]) -> dict[str, float]:
    """Probabilities of the alternatives at ``token``: its ``top_logprobs`` plus the
    sampled token itself (a server may leave it out of the top list)."""
    out: dict[str, float] = {}
    tops = token.get("top_logprobs")
    for alt in [*(tops if isinstance(tops, list) else []), token]:
        if not isinstance(alt, dict):
            continue  # a server's malformed entry is no alternative
        text = str(alt.get("token", "")).strip()
        logprob = alt.get("logprob")
        if text and isinstance(logprob, int | float) and math.isfinite(logprob):
            out[text] = max(out.get(text, 0.0), math.exp(logprob))
    return out


def expected_integer(token: dict[str, Any], allowed: Iterable[int],
                     value_of: dict[int, float] | None = None) -> tuple[float, float] | None:
    """``(expectation, probability mass)`` over the alternatives at ``token`` that are
    integers in ``allowed``, each mapped through ``value_of`` (default: itself); None when
    none is. The mass says how much of the distribution fell on valid scores."""
    allowed = set(allowed)
    weights: dict[int, float] = {}
    for text, p in alternatives(token).items():
        if re.fullmatch(r"-?\d+", text) and int(text) in allowed:
            weights[int(text)] = weights.get(int(text), 0.0) + p
    mass = sum(weights.values())
    if mass <= 0:
        return None
    mapped = value_of or {v: float(v) for v in weights}
    return sum(mapped[v] * p for v, p in weights.items()) / mass, mass


def pass_probability(token: dict[str, Any]) -> tuple[float, float] | None:
    """``(P(pass), mass)`` at a verdict token: alternatives that start ``pass``/``fail``
    (case-insensitive; a tokenizer may split the word); None when neither occurs."""
    p_pass = p_fail = 0.0
    for text, p in alternatives(token).items():
        word = text.lower().lstrip('"')
        if word and (word.startswith("pass") or "pass".startswith(word)):
            p_pass += p
        elif word and (word.startswith("fail") or "fail".startswith(word)):
            p_fail += p
    mass = p_pass + p_fail
    return (p_pass / mass, mass) if mass > 0 else None


def _last(pattern: str, text: str) -> re.Match[str] | None:
    found = None
    for found in re.finditer(pattern, text):  # noqa: B007 (the last match is wanted)
        pass
    return found


def holistic_expectation(logprobs: Sequence[dict[str, Any]], low: int, high: int
                         ) -> tuple[float, float] | None:
    """The expected holistic ``score`` on ``[low, high]`` and its mass, from the token
    where the verdict's last ``"score": <n>`` begins; None when not found."""
    tokens = TokenText.of(logprobs)
    found = _last(r'"score"\s*:\s*(-?\d)', tokens.text)
    token = tokens.token_at(found.start(1)) if found else None
    return expected_integer(token, range(low, high + 1)) if token else None


def criterion_expectation(logprobs: Sequence[dict[str, Any]], criterion: Criterion
                          ) -> tuple[float, float] | None:
    """A criterion's expected value in [0, 1] and its mass: P(pass) for pass/fail, the
    expected level score for levels; None when its verdict token is not found."""
    tokens = TokenText.of(logprobs)
    key = re.escape(criterion.id)
    if criterion.levels is None:
        found = _last(rf'"{key}"\s*:\s*\{{[^{{}}]*?"verdict"\s*:\s*"(\w)', tokens.text)
        token = tokens.token_at(found.start(1)) if found else None
        return pass_probability(token) if token else None
    found = _last(rf'"{key}"\s*:\s*\{{[^{{}}]*?"level"\s*:\s*(-?\d)', tokens.text)
    token = tokens.token_at(found.start(1)) if found else None
    if token is None:
        return None
    levels = [level.score for level in criterion.levels]
    return expected_integer(token, levels, {v: criterion.value_of_level(v) for v in levels})


def from_distribution(score: Score, logprobs: Sequence[dict[str, Any]] | None,
                      criteria: Sequence[Criterion], scale: tuple[int, int] | None,
                      component_id: str) -> Score:
    """``score`` (a rubric judge's, from the sampled verdict) with its values replaced by
    expectations over ``logprobs``: the holistic score when ``scale`` is given, else each
    criterion's value and the weighted mean. Falls back to ``score`` as it is, reported,
    when any expectation is missing."""
    telemetry = current_telemetry()
    expectations: dict[str, tuple[float, float]] = {}
    missing = logprobs is None
    if not missing and logprobs is not None:
        if scale is not None:
            found = holistic_expectation(logprobs, *scale)
            if found is not None:
                expectations["holistic_score"] = found
            missing = found is None
        else:
            for c in criteria:
                found = criterion_expectation(logprobs, c)
                if found is None:
                    missing = True
                    break
                expectations[c.id] = found
    telemetry.record_judge_stat(component_id, "distribution_fallback", float(missing))
    if missing:
        score.measurements["score_source"] = "sampled_fallback"
        return score
    score.measurements["score_source"] = "distribution"
    score.measurements["sampled_value"] = score.value
    if scale is not None:
        low, high = scale
        expected, mass = expectations["holistic_score"]
        score.value = (expected - low) / (high - low)
        score.measurements["holistic_expected"] = round(expected, 6)
        score.measurements["verdict_mass"] = round(mass, 6)
        return score
    total = sum(c.weight for c in criteria)
    score.value = sum(c.weight * expectations[c.id][0] for c in criteria) / total
    for c in criteria:
        score.measurements[c.id] = round(expectations[c.id][0], 6)
        score.details.setdefault("criteria", {}).setdefault(c.id, {})["expected"] = \
            round(expectations[c.id][0], 6)
    score.measurements["verdict_mass"] = round(min(m for _, m in expectations.values()), 6)
    return score
