"""Repetition: repeated word n-grams, duplicate lines, duplicate JSON array items.

Degenerate policies repeat themselves (the "repeated comments" of SFT checkpoints). Each
enabled measure is a rate in [0, 1]; at or under its maximum it scores 1, above it the
score falls linearly to 0 at a rate of 1. The value is the worst of the enabled measures.

Words are the shared segmentation's word tokens (``_segment.word_tokens``): in scripts
written without spaces (Chinese, Japanese, Thai, Khmer...) each character is a token, so
n-grams there are character n-grams and a looping Chinese sentence is caught like an
English one. So that an n-gram covers about n words, its length is ``ngram`` times the
characters per word of the text's main script (2 for Chinese/Japanese, 4 for Thai, Lao,
Khmer, Burmese; ``_segment.ngram_span``). A line's length counts display columns: a wide
(CJK) character counts two.

``ngram_scope = "sentence"`` tells a loop from a template: n-grams are compared within each
sentence, and a sentence repeated verbatim counts all its words as repeats, but n-grams
shared by *different* sentences do not count. "We are very sorry for the delay." twelve
times is 0.92; one templated bullet per order ("Order NW-1: at the depot; I've opened a
trace.", "Order NW-2: ...") is 0, where the whole-text rate counts the template as
repetition (0.27 for three bullets, rising with every order).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

import orjson
from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._extract import JsonInputConfig, require_response_json
from rewardsmith.plugins.checks._paths import EACH, MISSING, leaves, lookup, parse_path
from rewardsmith.plugins.checks._segment import (
    graphemes,
    ngram_span,
    strip_optional_marks,
    word_tokens,
)
from rewardsmith.plugins.checks._text import collapse_space, fold


def ngram_repeat_rate(words: list[str], n: int) -> float:
    """Share of n-gram occurrences that repeat an earlier one (0 for short texts)."""
    total = len(words) - n + 1
    if total <= 1:
        return 0.0
    unique = len(set(zip(*(words[i:] for i in range(n)), strict=False)))
    return 1.0 - unique / total


# Sentence ends: a terminator (Latin, CJK full-width, Arabic, Devanagari danda) followed by
# space, a CJK terminator followed by anything, or a line break.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?\u061f\u0964])\s+|(?<=[\u3002\uff01\uff1f])|\n+")


def sentence_ngram_repeat_rate(text: str, n: int) -> float:
    """Share of the words of ``text`` that repeat: every word of a sentence equal to an
    earlier one, and within a sentence the n-grams that repeat an earlier n-gram of the
    same sentence (``n`` as in :func:`ngram_repeat_rate`, after ``ngram_span``). N-grams
    shared by different sentences do not count. 0 for a text of fewer than two words."""
    total = 0
    repeated = 0
    seen: set[tuple[str, ...]] = set()
    for sentence in _SENTENCE_END_RE.split(text):
        words = tuple(word_tokens(sentence))
        if not words:
            continue
        total += len(words)
        if words in seen:
            repeated += len(words)
            continue
        seen.add(words)
        count = len(words) - n + 1
        if count > 1:
            repeated += count - len(set(zip(*(words[i:] for i in range(n)), strict=False)))
    return repeated / total if total > 1 else 0.0


def display_width(text: str) -> int:
    """Columns the text takes on screen: one per grapheme, two for a wide (CJK) one."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(g[0]) in "WF" else 1 for g in graphemes(text))


def duplicate_rate(keys: list[str]) -> float:
    """Share of entries equal to an earlier entry."""
    if len(keys) <= 1:
        return 0.0
    return 1.0 - len(set(keys)) / len(keys)


def _folded(value: Any) -> Any:
    if isinstance(value, str):
        return collapse_space(fold(value))
    if isinstance(value, list):
        return [_folded(v) for v in value]
    if isinstance(value, dict):
        return {k: _folded(v) for k, v in value.items()}
    return value


def _sub_score(rate: float, maximum: float) -> float:
    if rate <= maximum:
        return 1.0
    return max(0.0, 1.0 - (rate - maximum) / (1.0 - maximum))


class Repetition(Component["Repetition.Config"]):
    """Penalises repeated n-grams, duplicate lines and duplicate items of a JSON array."""

    summary = "Repeated word n-grams, duplicate lines and duplicate JSON array items."

    class Config(JsonInputConfig):
        type: Literal["repetition"] = "repetition"
        ngram: int = Field(
            default=3, ge=1, le=16,
            description="n-gram length in words; in Chinese/Japanese n-grams of 2n "
            "characters, in Thai/Lao/Khmer/Burmese of 4n graphemes.",
        )
        max_ngram_repeat: float = Field(
            default=0.3, ge=0, le=1,
            description="Max share of repeated word n-grams; 1 turns the measure off.",
        )
        ngram_scope: Literal["text", "sentence"] = Field(
            default="text",
            description="'sentence': n-grams repeat only within a sentence or as part of a "
            "verbatim repeated sentence, so a template filled once per item (one bullet "
            "per order) is not repetition; 'text': any repeat anywhere counts.",
        )
        ngram_source: Literal["text", "json_strings"] = Field(
            default="text",
            description="'json_strings': n-grams over the JSON's string values only, so "
            "repeated keys of a legitimate array do not count.",
        )
        max_duplicate_lines: float | None = Field(
            default=None, ge=0, lt=1, description="Max share of duplicated lines."
        )
        min_line_chars: int = Field(
            default=8, ge=1,
            description="Shorter lines ('}', '---') are not compared; a wide (CJK) "
            "character counts as two.",
        )
        items_path: str | None = Field(
            default=None,
            description="Path to a JSON array (e.g. 'comments' or 'a.items'): duplicate "
            "elements (case/space-insensitive) are counted.",
        )
        max_duplicate_items: float = Field(default=0.0, ge=0, lt=1)

        @model_validator(mode="after")
        def _something(self) -> Repetition.Config:
            if (self.max_ngram_repeat >= 1 and self.max_duplicate_lines is None
                    and self.items_path is None):
                raise ValueError("every measure is off: lower max_ngram_repeat below 1, or "
                                 "set max_duplicate_lines or items_path")
            return self

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._items = parse_path(config.items_path) if config.items_path else None

    def _json(self, sample: Sample) -> Any:
        return require_response_json(sample, self.config).value

    def score(self, sample: Sample) -> Score:
        cfg = self.config
        rates: dict[str, tuple[float, float]] = {}  # name -> (rate, max)
        data: Any = MISSING
        if cfg.max_ngram_repeat < 1:
            if cfg.ngram_source == "json_strings":
                data = self._json(sample)
                text = " ".join(v for _, v in leaves(data) if isinstance(v, str))
            else:
                text = sample.response
            folded = strip_optional_marks(fold(text))
            words = word_tokens(folded)
            span = ngram_span(folded, words, cfg.ngram)
            rate = sentence_ngram_repeat_rate(folded, span) if cfg.ngram_scope == "sentence" \
                else ngram_repeat_rate(words, span)
            rates["ngram_repeat"] = (rate, cfg.max_ngram_repeat)
        if cfg.max_duplicate_lines is not None:
            lines = [collapse_space(fold(line)) for line in sample.response.splitlines()]
            lines = [line for line in lines if display_width(line) >= cfg.min_line_chars]
            rates["duplicate_lines"] = (duplicate_rate(lines), cfg.max_duplicate_lines)
        if self._items is not None:
            if data is MISSING:
                data = self._json(sample)
            items: list[Any] = []
            element_path = self._items.segments[-1] is EACH  # 'comments[]' vs 'comments'
            for _, found in lookup(data, self._items):
                if found is MISSING:
                    continue
                if element_path:
                    items.append(found)
                elif isinstance(found, list):
                    items.extend(found)
            keys = [orjson.dumps(_folded(i), option=orjson.OPT_SORT_KEYS).decode()
                    for i in items]
            rates["duplicate_items"] = (duplicate_rate(keys), cfg.max_duplicate_items)

        value = min(_sub_score(rate, maximum) for rate, maximum in rates.values())
        over = [f"{name} {rate:.2f} > {maximum:.2f}" for name, (rate, maximum) in rates.items()
                if rate > maximum]
        rationale = "; ".join(over) if over else "no excessive repetition"
        return Score(value, not over, rationale,
                     {name: round(rate, 4) for name, (rate, _) in rates.items()})
