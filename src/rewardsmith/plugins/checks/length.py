"""Length in characters, words or (approximate) tokens, with a hard or soft band.

Words (``_segment.count_words``): whitespace-separated chunks holding a letter or digit,
and one word per character of a script written without spaces (Chinese, Japanese, Thai,
Khmer...), as word processors count them. Characters are code points.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentConfig
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._segment import (
    MAYBE_NO_SPACE_RE,
    NO_SPACE_CLASS,
    LazyPattern,
    count_words,
)

# An approximation of BPE token counts without shipping a tokenizer: a character of a
# script written without spaces (with its marks) on its own (cl100k/o200k spend about one
# token per Chinese or Japanese character), other letters in pieces of up to 8, digits in
# groups of up to 3 (as cl100k/o200k split numbers), every other non-space character on
# its own. English prose lands near real BPE counts; code and unusual scripts drift
# further. Use it for budgets, not billing.
_ASCII_TOKEN_RE = re.compile(r"[^\W\d_]{1,8}|\d{1,3}|[^\w\s]|_")
_SPACED_TOKEN_RE = LazyPattern(r"[^\W\d_]{1,8}|\d{1,3}|[^\w\s]|_")  # \w holds marks
_TOKEN_RE = LazyPattern(
    rf"(?V1){NO_SPACE_CLASS}\p{{M}}*|[[^\W\d_]--{NO_SPACE_CLASS}]{{1,8}}|\d{{1,3}}|[^\w\s]|_"
)


def count_tokens(text: str) -> int:
    """Approximate token count (see ``_TOKEN_RE``)."""
    if text.isascii():
        return len(_ASCII_TOKEN_RE.findall(text))
    if MAYBE_NO_SPACE_RE.search(text) is None:  # the cheap check of _segment
        return len(_SPACED_TOKEN_RE.findall(text))
    return len(_TOKEN_RE.findall(text))


def measure(text: str, unit: str) -> int:
    """Length of ``text`` in ``unit`` ('chars', 'words' or 'tokens')."""
    if unit == "chars":
        return len(text)
    if unit == "words":
        return count_words(text)
    return count_tokens(text)


class Length(Component["Length.Config"]):
    """1 inside [min, max]; outside, 0 — or a linear falloff over ``falloff`` units."""

    summary = "Response length in chars/words/approx. tokens within [min, max], soft band."

    class Config(ComponentConfig):
        type: Literal["length"] = "length"
        unit: Literal["chars", "words", "tokens"] = Field(
            default="chars",
            description="'tokens' is a regex approximation of BPE counts, not a tokenizer.",
        )
        min: int | None = Field(default=None, ge=0)
        max: int | None = Field(default=None, ge=0)
        falloff: float | None = Field(
            default=None,
            gt=0,
            description="Soft band: the value falls linearly from 1 at the bound to 0 at "
            "'falloff' units beyond it. Without it the band is hard (0 outside).",
        )

        @model_validator(mode="after")
        def _bounds(self) -> Length.Config:
            if self.min is None and self.max is None:
                raise ValueError("give 'min', 'max' or both")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
            return self

    def score(self, sample: Sample) -> Score:
        cfg = self.config
        n = measure(sample.response, cfg.unit)
        excess = 0
        if cfg.min is not None and n < cfg.min:
            excess = cfg.min - n
            rationale = f"{n} {cfg.unit}, below the minimum {cfg.min}"
        elif cfg.max is not None and n > cfg.max:
            excess = n - cfg.max
            rationale = f"{n} {cfg.unit}, above the maximum {cfg.max}"
        else:
            rationale = f"{n} {cfg.unit}, within bounds"
        if excess == 0:
            value = 1.0
        elif cfg.falloff is None:
            value = 0.0
        else:
            value = max(0.0, 1.0 - excess / cfg.falloff)
        return Score(value, excess == 0, rationale, {cfg.unit: n})
