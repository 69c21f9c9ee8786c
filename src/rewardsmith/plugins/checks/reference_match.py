"""Match against the sample's reference answer: exact, fuzzy, or field by field (JSON)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

import orjson
from pydantic import Field
from rapidfuzz import fuzz

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._extract import JsonInputConfig, require_response_json
from rewardsmith.plugins.checks._paths import MISSING, FieldPath, leaves, lookup, parse_path
from rewardsmith.plugins.checks._text import collapse_space, drop_punctuation, fold

Normalisation = Literal["fold", "whitespace", "punctuation"]
FuzzyScorer = Literal["ratio", "token_set_ratio", "token_sort_ratio", "partial_ratio"]
_SCORERS: dict[str, Callable[..., float]] = {
    "ratio": fuzz.ratio,
    "token_set_ratio": fuzz.token_set_ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
    "partial_ratio": fuzz.partial_ratio,
}
# Currency signs, thousands separators and spaces around a number written as text.
_NUMBER_NOISE_RE = re.compile(r"[\s,_$€£¥]|^[A-Z]{3}\s*|\s*[A-Z]{3}$")
_MAX_LISTED = 5


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond a double: compared exactly instead
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(_NUMBER_NOISE_RE.sub("", value.strip()))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


class ReferenceMatch(Component["ReferenceMatch.Config"]):
    """Similarity to the reference answer.

    - ``exact``: 1 if the normalised texts are equal.
    - ``fuzzy``: rapidfuzz similarity / 100 (``scorer``); passes at ``threshold``.
    - ``json_fields``: the share of the reference's leaf fields (optionally only under
      ``fields``) that the response JSON has with an equal value at the same path —
      numbers within ``number_tolerance``, strings normalised (and fuzzy if
      ``string_threshold`` < 1). ``penalize_extra`` also counts response-only fields as
      misses (catches invented line items).
    """

    summary = "Exact/fuzzy match to the reference answer, or JSON field accuracy."

    class Config(JsonInputConfig):
        type: Literal["reference-match"] = "reference-match"
        mode: Literal["exact", "fuzzy", "json_fields"] = "exact"
        scorer: FuzzyScorer = "ratio"
        threshold: float | None = Field(
            default=None, ge=0, le=1,
            description="Pass mark. Default: 0.8 for fuzzy, 1.0 otherwise.",
        )
        binary: bool = Field(default=False, description="Value 1/0 at the threshold.")
        normalize: list[Normalisation] = Field(
            default_factory=lambda: ["fold", "whitespace"],
            description="'fold': NFKC + case-fold + drop invisible chars; 'whitespace': "
            "collapse runs; 'punctuation': replace punctuation with spaces.",
        )
        reference_path: str | None = Field(
            default=None, description="Path of the compared value in an object reference."
        )
        response_path: str | None = Field(
            default=None, description="Path of the compared value in the response JSON."
        )
        fields: list[str] | None = Field(
            default=None, description="json_fields: compare only under these paths."
        )
        number_tolerance: float = Field(
            default=0.0, ge=0, description="json_fields: relative tolerance for numbers."
        )
        string_threshold: float = Field(
            default=1.0, ge=0, le=1,
            description="json_fields: a string field matches at this similarity (scorer).",
        )
        penalize_extra: bool = False

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._scorer = _SCORERS[config.scorer]
        self._reference_path = _maybe_path(config.reference_path)
        self._response_path = _maybe_path(config.response_path)
        self._fields = [parse_path(f) for f in config.fields] if config.fields else None
        default = 0.8 if config.mode == "fuzzy" else 1.0
        self._threshold = default if config.threshold is None else config.threshold

    # -- helpers ------------------------------------------------------------------------
    def _normalise(self, text: str) -> str:
        steps = self.config.normalize
        if "fold" in steps:
            text = fold(text)
        if "punctuation" in steps:
            text = drop_punctuation(text)
        if "whitespace" in steps or "punctuation" in steps:
            text = collapse_space(text)
        return text

    def _reference(self, sample: Sample) -> Any:
        ref = sample.reference_answer
        if ref is None:
            raise ComponentError("sample has no reference_answer", kind=ErrorKind.MISSING_REFERENCE)
        _refuse_non_finite(ref, "reference_answer")
        return ref

    def _reference_object(self, sample: Sample) -> Any:
        ref = self._reference(sample)
        if isinstance(ref, str):
            try:
                return orjson.loads(ref)
            except orjson.JSONDecodeError as exc:
                raise ComponentError(f"reference_answer is a string that is not JSON: {exc}",
                                     kind=ErrorKind.BAD_REFERENCE) from None
        return ref

    # -- text modes ---------------------------------------------------------------------
    def _text_pair(self, sample: Sample) -> tuple[str, str]:
        if self._reference_path is not None:
            ref_text = _single(self._reference_object(sample), self._reference_path,
                               "reference_answer", "bad_reference")
        else:
            self._reference(sample)
            ref_text = sample.reference_text or ""
        if self._response_path is not None:
            data = require_response_json(sample, self.config).value
            response = _single(data, self._response_path, "response", "missing_field")
        else:
            response = sample.response
        return self._normalise(response), self._normalise(ref_text)

    def _score_text(self, sample: Sample) -> Score:
        response, reference = self._text_pair(sample)
        if self.config.mode == "exact":
            similarity = 1.0 if response == reference else 0.0
        else:
            similarity = self._scorer(response, reference) / 100.0
        ok = similarity >= self._threshold
        value = (1.0 if ok else 0.0) if self.config.binary else similarity
        how = "equal" if self.config.mode == "exact" else self.config.scorer
        return Score(value, ok, f"{how} similarity {similarity:.2f} "
                     f"(pass at {self._threshold:.2f})", {"similarity": round(similarity, 4)})

    # -- json fields --------------------------------------------------------------------
    def _scoped_leaves(self, data: Any) -> dict[str, Any]:
        if self._fields is None:
            return dict(leaves(data))
        out: dict[str, Any] = {}
        for path in self._fields:
            for where, value in lookup(data, path):
                if value is not MISSING:
                    out.update(leaves(value, where))
        return out

    def _equal(self, got: Any, want: Any) -> bool:
        if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
            return got is want  # null and booleans match only themselves
        if _non_finite(got) or _non_finite(want):
            return False  # inf is within any relative tolerance of inf; nan equals nothing
        want_n, got_n = _as_number(want), _as_number(got)
        if want_n is not None and got_n is not None and (
            isinstance(want, int | float) or isinstance(got, int | float)
        ):
            tolerance = self.config.number_tolerance * max(abs(want_n), abs(got_n))
            return abs(want_n - got_n) <= tolerance + 1e-9
        if isinstance(want, str) and isinstance(got, str):
            a, b = self._normalise(got), self._normalise(want)
            if a == b:
                return True
            threshold = self.config.string_threshold
            return threshold < 1.0 and self._scorer(a, b) / 100.0 >= threshold
        return bool(got == want)

    def _score_fields(self, sample: Sample) -> Score:
        reference = self._scoped_leaves(self._reference_object(sample))
        if not reference:
            raise ComponentError("the reference has no fields to compare",
                                 kind=ErrorKind.BAD_REFERENCE)
        data = require_response_json(sample, self.config).value
        response = self._scoped_leaves(data)
        wrong = [p for p, want in reference.items()
                 if p not in response or not self._equal(response[p], want)]
        extra = [p for p in response if p not in reference] if self.config.penalize_extra else []
        total = len(reference) + len(extra)
        matched = len(reference) - len(wrong)
        accuracy = matched / total
        ok = accuracy >= self._threshold
        value = (1.0 if ok else 0.0) if self.config.binary else accuracy
        parts = [f"{matched}/{len(reference)} reference fields match"]
        if wrong:
            parts.append(f"wrong or missing: {_listed(wrong)}")
        if extra:
            parts.append(f"not in reference: {_listed(extra)}")
        return Score(value, ok, "; ".join(parts),
                     {"fields": len(reference), "matched": matched, "extra": len(extra)},
                     {"mismatched": wrong[:20], "extra": extra[:20]})

    def score(self, sample: Sample) -> Score:
        if self.config.mode == "json_fields":
            return self._score_fields(sample)
        return self._score_text(sample)


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _refuse_non_finite(data: Any, what: str) -> None:
    """Raise a ``bad_reference`` error naming the first field of ``data`` holding NaN or
    an infinity: such a number cannot be matched (an infinite reference used to match
    every finite answer within its infinite tolerance) and must not be scored silently."""
    for path, value in leaves(data):
        if _non_finite(value):
            where = f" field {path!r}" if path else ""
            raise ComponentError(f"{what}{where} is {value}, not a finite number; it cannot "
                                 f"be matched", kind=ErrorKind.BAD_REFERENCE)


def _maybe_path(text: str | None) -> FieldPath | None:
    return None if text is None else parse_path(text)


def _single(data: Any, path: FieldPath, what: str, kind: str) -> str:
    found = [v for _, v in lookup(data, path) if v is not MISSING]
    if len(found) != 1:
        raise ComponentError(f"{what} has {'no' if not found else len(found)} value(s) at "
                             f"{path.text!r}; expected exactly one", kind=kind)
    value = found[0]
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _listed(paths: Iterable[str]) -> str:
    items = list(paths)
    more = f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more
