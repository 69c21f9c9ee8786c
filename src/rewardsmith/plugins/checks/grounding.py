"""Grounding: what the response quotes or extracts must occur in the source document.

Spans are the quoted passages of the response text, or string values of the response JSON
(every string, or those under ``fields``). A span is grounded when it occurs in the source
after normalisation (NFKC, case-fold, collapsed whitespace), or fuzzily: rapidfuzz
``partial_ratio`` (best-aligned substring similarity) at or above ``threshold``.
With ``include_numbers``, JSON numbers must equal a number written in the source, read in
the usual locale formats (:func:`number_readings`): ``1,234.50`` (en), ``1.234,50`` (de, es,
it), ``1 234,50`` with a space, no-break space U+00A0, narrow no-break space U+202F or thin
space U+2009 (fr, CLDR ``group`` symbols), ``1'234.50`` with an apostrophe or U+2019 (de-CH), Indian
lakh grouping ``12,34,567.50``, and ``-`` or U+2212 minus. CLDR number symbols per locale:
https://cldr.unicode.org/translation/number-currency-formats/number-symbols . A written
number whose separator could be either (``1.049``, ``1,234``) is read both ways.
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
# A written number: digits joined by the separators locales use (CLDR group and decimal
# symbols). The run is split and validated in number_readings; a run of digits and spaces
# ("3 4") that is no valid grouping is read as its separate numbers.
_SPACES = " \u00a0\u202f\u2009"
_NUMBER_RE = re.compile(r"(?<![\w.,])[-\u2212]?\d(?:[\d.,'\u2019" + _SPACES + r"]*\d)?")
_SPACE_SPLIT_RE = re.compile("[" + _SPACES + "]+")
_WESTERN_GROUPS_RE = re.compile(r"\d{1,3}(?:(?P<sep>[.,'\u2019" + _SPACES + r"])\d{3})+")
_LAKH_GROUPS_RE = re.compile(r"\d{1,2}(?:,\d{2})*,\d{3}")


def _grouped(integer: str) -> str | None:
    """``integer`` with its group separators removed when they group it validly
    (3-digit groups with one separator, or Indian lakh grouping with commas), else None."""
    if integer.isdigit():
        return integer
    m = _WESTERN_GROUPS_RE.fullmatch(integer)
    if m is not None and len({c for c in integer if not c.isdigit()}) == 1:
        return "".join(c for c in integer if c.isdigit())
    if _LAKH_GROUPS_RE.fullmatch(integer):
        return integer.replace(",", "")
    return None


def _readings_one(token: str) -> set[float]:
    """Values of one written number with no ambiguity about where it ends."""
    sign = -1.0 if token[:1] in "-\u2212" else 1.0
    body = token.lstrip("-\u2212")
    out: set[float] = set()
    # Either '.' or ',' may be the decimal mark, the other (or ', ', apostrophe, a space)
    # grouping; try both, keep the readings whose grouping is valid.
    for decimal in (".", ","):
        integer, mark, fraction = body.rpartition(decimal)
        if not mark:
            integer, fraction = body, ""
        if fraction and not fraction.isdigit():
            continue
        if mark and not integer:
            continue
        digits = _grouped(integer)
        if digits is None or (mark and decimal in integer):
            continue
        if mark and fraction and len(fraction) == 3 and integer.isdigit() is False and \
                _grouped(integer + decimal + fraction) is not None:
            # "1.234.567" is grouping, not 1234.567.
            continue
        out.add(sign * float(f"{digits}.{fraction}" if fraction else digits))
    return out



def _normalise(text: str) -> str:
    return collapse_space(fold(text))


@lru_cache(maxsize=128)
def _prepared_source(text: str) -> tuple[str, frozenset[float]]:
    numbers: set[float] = set()
    for match in _NUMBER_RE.finditer(text):
        numbers |= number_readings(match.group())
    return _normalise(text), frozenset(numbers)


def number_readings(token: str) -> set[float]:
    """Every value a written number can have in the usual locale formats.

    ``"1.049,00"`` -> {1049.0}; ``"4,50"`` -> {4.5}; ``"1 200,00"`` (any space kind) ->
    {1200.0}; ``"12,34,567"`` -> {1234567.0}; ``"1.049"`` -> {1049.0, 1.049}; a run of
    numbers separated by spaces (``"3 4"``) or commas that group nothing (``"1,2,3"``) also
    yields each number alone. Returns an empty set for text that is no number.
    """
    token = token.strip(_SPACES + ".,'\u2019")
    if not token:
        return set()
    out = _readings_one(token)
    if not out and "," in token:
        # "1,2,3" is no grouping: a list of numbers.
        for piece in token.split(","):
            out |= number_readings(piece)
    pieces = _SPACE_SPLIT_RE.split(token)
    if len(pieces) > 1:
        for piece in pieces:
            bare = piece.strip(".,'\u2019")
            if bare:
                out |= _readings_one(bare)
    return out


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
