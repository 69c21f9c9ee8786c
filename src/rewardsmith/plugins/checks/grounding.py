"""Grounding: what the response quotes or extracts must occur in the source document.

Spans are the quoted passages of the response text, or string values of the response JSON
(every string, or those under ``fields``). A span is grounded when it occurs in the source
after normalisation (NFKC, case-fold, collapsed whitespace), or fuzzily: rapidfuzz
``partial_ratio`` (best-aligned substring similarity) at or above ``threshold``.
With ``include_numbers``, JSON numbers must equal a number written in the source
(``1,234.50`` reads as 1234.5; continental ``1.234,50`` is not understood).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, model_validator
from rapidfuzz import fuzz

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._extract import JsonInputConfig, require_response_json
from rewardsmith.plugins.checks._paths import MISSING, leaves, lookup, parse_path
from rewardsmith.plugins.checks._text import collapse_space, fold

# A span may not contain its own opening quote: otherwise every opening quote of a long
# unclosed run scans to the end of the text (quadratic). Spaces inside guillemets are
# stripped in Python: "\s*(...+?)\s*" backtracks quadratically over a run of spaces.
_QUOTE_RES = [
    re.compile(r'"([^"\n]+)"'),
    re.compile(r"\u201c([^\u201c\u201d]+)\u201d"),  # curly double quotes
    re.compile(r"\u00ab([^\u00ab\u00bb]+)\u00bb"),  # guillemets
    re.compile(r"\u201e([^\u201e\u201c\u201d]+)[\u201c\u201d]"),  # German low-high quotes
    re.compile(r"\u300c([^\u300c\u300d]+)\u300d"),  # CJK corner brackets (Japanese, Chinese)
    re.compile(r"\u300e([^\u300e\u300f]+)\u300f"),  # CJK white corner brackets
]
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def _normalise(text: str) -> str:
    return collapse_space(fold(text))


@lru_cache(maxsize=128)
def _prepared_source(text: str) -> tuple[str, frozenset[float]]:
    numbers: set[float] = set()
    for match in _NUMBER_RE.finditer(text):
        try:
            numbers.add(float(match.group().replace(",", "")))
        except ValueError:
            continue
    return _normalise(text), frozenset(numbers)


def quoted_spans(text: str) -> list[str]:
    spans = (m.group(1).strip() for pattern in _QUOTE_RES for m in pattern.finditer(text))
    return [span for span in spans if span]


class Grounding(Component["Grounding.Config"]):
    """Fraction of spans found (fuzzily) in the source document."""

    summary = "Quoted spans / JSON string fields occur (fuzzily) in the source document."

    class Config(JsonInputConfig):
        type: Literal["grounding"] = "grounding"
        spans_from: Literal["quotes", "json"] = "quotes"
        fields: list[str] = Field(
            default_factory=list,
            description="json: paths whose values must be grounded (e.g. comments[].clause);"
            " empty means every string in the response JSON.",
        )
        include_numbers: bool = Field(
            default=False, description="json: numbers must also occur in the source."
        )
        source: Literal["prompt", "metadata"] = "prompt"
        source_key: str | None = Field(default=None, description="Metadata key (source=metadata).")
        prompt_roles: list[str] = Field(default_factory=lambda: ["user"])
        threshold: float = Field(default=0.9, ge=0, le=1,
                                 description="partial_ratio / 100 needed to count as found.")
        min_span_chars: int = Field(default=4, ge=1,
                                    description="Shorter strings are not checked.")
        min_fraction: float = Field(default=1.0, ge=0, le=1,
                                    description="Pass when this share is grounded.")
        if_no_spans: Literal["pass", "fail", "abstain"] = Field(
            default="abstain", description="What a response with nothing to check gets."
        )

        @model_validator(mode="after")
        def _source(self) -> Grounding.Config:
            if (self.source == "metadata") != (self.source_key is not None):
                raise ValueError("source='metadata' needs 'source_key' (and only it does)")
            return self

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._fields = [parse_path(f) for f in config.fields]
        self._roles = tuple(config.prompt_roles)

    def _source_text(self, sample: Sample) -> str:
        if self.config.source_key is not None:
            text = sample.metadata.get(self.config.source_key)
            if not isinstance(text, str) or not text.strip():
                raise ComponentError(f"metadata key {self.config.source_key!r} holds no source "
                                     "text", kind=ErrorKind.MISSING_METADATA)
            return text
        text = sample.prompt_text(self._roles)
        if not text.strip():
            raise ComponentError(f"prompt has no {'/'.join(self._roles)} text to ground in",
                                 kind=ErrorKind.MISSING_SOURCE)
        return text

    def _spans(self, sample: Sample) -> list[Any]:
        if self.config.spans_from == "quotes":
            return quoted_spans(sample.response)
        data = require_response_json(sample, self.config).value
        if not self._fields:
            return [v for _, v in leaves(data)]
        out: list[Any] = []
        for path in self._fields:
            for where, value in lookup(data, path):
                if value is not MISSING:
                    out.extend(v for _, v in leaves(value, where))
        return out

    def _checked(self, spans: list[Any]) -> list[Any]:
        keep: list[Any] = []
        for span in spans:
            is_text = isinstance(span, str) and len(span.strip()) >= self.config.min_span_chars
            is_number = self.config.include_numbers and isinstance(span, int | float) and \
                not isinstance(span, bool) and math.isfinite(span)
            if is_text or is_number:
                keep.append(span)
        return keep

    def score(self, sample: Sample) -> Score:
        spans = self._checked(self._spans(sample))
        if not spans:
            policy = self.config.if_no_spans
            if policy == "abstain":
                raise ComponentError("nothing to ground in the response",
                                     kind=ErrorKind.UNDETERMINED)
            return Score.from_bool(policy == "pass", "nothing to ground", spans=0, grounded=0)
        source, numbers = _prepared_source(self._source_text(sample))
        cutoff = self.config.threshold * 100
        ungrounded: list[str] = []
        for span in spans:
            if isinstance(span, str):
                needle = _normalise(span)
                if needle in source or fuzz.partial_ratio(needle, source, score_cutoff=cutoff):
                    continue
            elif any(abs(span - n) <= 1e-9 * max(1.0, abs(n)) for n in numbers):
                continue
            ungrounded.append(repr(span if not isinstance(span, str) else span[:60]))
        grounded = len(spans) - len(ungrounded)
        fraction = grounded / len(spans)
        ok = fraction >= self.config.min_fraction
        rationale = f"{grounded}/{len(spans)} spans grounded"
        if ungrounded:
            rationale += f"; not in source: {', '.join(ungrounded[:4])}"
        return Score(fraction, ok, rationale, {"spans": len(spans), "grounded": grounded})
