"""Pattern checks over the response text: regular expressions and keyword lists."""

from __future__ import annotations

from typing import Literal

import regex
from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._pack_regex import (
    DEFAULT_MATCH_TIMEOUT_S,
    FLAGS,
    compile_pack_pattern,
    search,
)
from rewardsmith.plugins.checks._segment import strip_optional_marks, whole_word_pattern
from rewardsmith.plugins.checks._text import LATIN_LOOKALIKES, fold

# A word (letters and marks) that mixes basic Latin letters with Cyrillic, Greek or other
# letters injection's look-alike table maps to Latin ("paypal" with a Cyrillic a).
_CONFUSABLE_CHARS = frozenset(chr(c) for c in LATIN_LOOKALIKES)
_WORD_RE = regex.compile(r"[\p{L}\p{M}]+")  # each word once: linear in the text


def _latinise_mixed_words(text: str) -> str:
    """``text`` with each word that mixes Latin letters and look-alikes spelt in Latin; a
    word wholly in Cyrillic or Greek (Russian "sor", rubbish) is left alone."""
    def latinised(match: regex.Match[str]) -> str:
        word = match.group()
        mixed = any("a" <= ch <= "z" for ch in word) and not _CONFUSABLE_CHARS.isdisjoint(word)
        return word.translate(LATIN_LOOKALIKES) if mixed else word

    return _WORD_RE.sub(latinised, text)


def _snippet(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Regex(Component["Regex.Config"]):
    """Required patterns must match, forbidden ones must not.

    Patterns come from the pack, so a pathological one (nested quantifiers such as
    ``(a|a)+$``) could backtrack for a very long time on adversarial text. Each pattern's
    search on each sample is bounded by ``match_timeout_s`` (the ``regex`` library's
    timeout); running out is a ``regex_timeout`` error, so the component's ``on_error``
    policy decides the score. Only the first ``max_chars`` characters are searched.
    """

    summary = "Required regexes must match, forbidden ones must not (compiled at load)."

    class Config(ComponentConfig):
        type: Literal["regex"] = "regex"
        require: list[str] = Field(default_factory=list)
        forbid: list[str] = Field(default_factory=list)
        flags: list[Literal["i", "m", "s", "x"]] = Field(
            default_factory=list, description="re flags: i(gnorecase) m(ultiline) s x"
        )
        max_chars: int = Field(
            default=100_000, ge=1,
            description="Search only this many leading characters (bounds backtracking).",
        )
        match_timeout_s: float = Field(
            default=DEFAULT_MATCH_TIMEOUT_S, gt=0, le=10,
            description="Time limit for one pattern on one sample; running out is a "
            "'regex_timeout' error handled by on_error.",
        )

        @model_validator(mode="after")
        def _something(self) -> Regex.Config:
            if not self.require and not self.forbid:
                raise ValueError("give at least one pattern in 'require' or 'forbid'")
            return self

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        flags = 0
        for flag in config.flags:
            flags |= FLAGS[flag]
        self._require = [(f"require[{i}]", compile_pack_pattern(p, flags, f"require[{i}]"))
                         for i, p in enumerate(config.require)]
        self._forbid = [(f"forbid[{i}]", compile_pack_pattern(p, flags, f"forbid[{i}]"))
                        for i, p in enumerate(config.forbid)]

    def score(self, sample: Sample) -> Score:
        text = sample.response[: self.config.max_chars]
        limit = self.config.match_timeout_s
        missing = [p.pattern for where, p in self._require
                   if search(p, text, timeout_s=limit, where=where) is None]
        hits: list[str] = []
        for where, pattern in self._forbid:
            match = search(pattern, text, timeout_s=limit, where=where)
            if match is not None:
                hits.append(f"{pattern.pattern!r} matched {_snippet(match.group(0))!r}")
        found = len(self._require) - len(missing)
        value = 0.0 if hits else (found / len(self._require) if self._require else 1.0)
        problems = [f"forbidden {h}" for h in hits] + [f"missing {p!r}" for p in missing]
        rationale = "; ".join(problems[:4]) if problems else "all patterns satisfied"
        return Score(value, not problems, rationale,
                     {"required_matched": found, "forbidden_matched": len(hits)})


class Keywords(Component["Keywords.Config"]):
    """Required and forbidden keywords, after Unicode folding.

    Unless ``case_sensitive``, both text and keywords are NFKC-normalised, stripped of
    invisible format and bidi characters, of Arabic tatweel and harakat and Hebrew niqqud,
    and case-folded, so full-width letters, a zero-width space inside a word or vowel signs
    still match the plain keyword. A forbidden keyword is also looked for with each word
    that mixes Latin letters and Cyrillic/Greek look-alikes spelt in Latin ("paypal" with a
    Cyrillic a is "paypal"); words wholly in one script are left as written.

    ``whole_word`` follows the shared segmentation (``_segment.whole_word_pattern``): in
    scripts written without spaces (Chinese, Japanese, Thai...) a keyword edge needs no
    boundary, since without a dictionary a word boundary there cannot be told -- the keyword
    is found anywhere in the run; a change of script is a boundary ("iPhone" in
    "用iPhone拍照"); Korean particles may follow a keyword ("환불이").
    """

    summary = "Required/forbidden keyword lists (case-folded, whole-word, min fraction)."

    class Config(ComponentConfig):
        type: Literal["keywords"] = "keywords"
        required: list[str] = Field(default_factory=list)
        forbidden: list[str] = Field(default_factory=list)
        case_sensitive: bool = False
        whole_word: bool = Field(
            default=True,
            description="Match only where not flanked by letters/digits of a spaced "
            "script; in Chinese, Japanese, Thai... (no spaces) any occurrence counts.",
        )
        min_required_fraction: float = Field(
            default=1.0, ge=0, le=1,
            description="Pass when at least this share of 'required' keywords occurs.",
        )

        @model_validator(mode="after")
        def _something(self) -> Keywords.Config:
            if not self.required and not self.forbidden:
                raise ValueError("give at least one keyword in 'required' or 'forbidden'")
            if any(not k.strip() for k in [*self.required, *self.forbidden]):
                raise ValueError("keywords must not be blank")
            return self

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._required = [(k, self._pattern(k)) for k in config.required]
        self._forbidden = [(k, self._pattern(k)) for k in config.forbidden]

    def _fold(self, text: str) -> str:
        return text if self.config.case_sensitive else strip_optional_marks(fold(text))

    def _pattern(self, original: str) -> regex.Pattern[str]:
        keyword = self._fold(original)
        if not keyword.split():
            # An empty pattern would match every response.
            raise ValueError(f"keyword {original!r} is empty once folded (invisible "
                             "characters, vowel signs)")
        if self.config.whole_word:
            return regex.compile(whole_word_pattern(keyword))
        # Any run of whitespace between the words of a phrase matches, so a line break or
        # doubled space does not hide a forbidden phrase.
        return regex.compile(r"\s+".join(regex.escape(word) for word in keyword.split()))

    def score(self, sample: Sample) -> Score:
        text = self._fold(sample.response)
        missing = [k for k, p in self._required if p.search(text) is None]
        # A forbidden word spelt with a look-alike ("paypal", Cyrillic a) is still that
        # word; a required one spelt so is not counted as written.
        latin = _latinise_mixed_words(text) if not text.isascii() else text
        forbidden = [k for k, p in self._forbidden
                     if p.search(text) is not None or p.search(latin) is not None]
        found = len(self._required) - len(missing)
        fraction = found / len(self._required) if self._required else 1.0
        ok = not forbidden and fraction >= self.config.min_required_fraction
        value = 0.0 if forbidden else fraction
        parts = []
        if forbidden:
            parts.append(f"forbidden: {', '.join(map(repr, forbidden[:5]))}")
        if missing:
            parts.append(f"missing: {', '.join(map(repr, missing[:5]))}")
        rationale = "; ".join(parts) or "all required keywords present, none forbidden"
        return Score(value, ok, rationale,
                     {"required_found": found, "forbidden_found": len(forbidden)})
