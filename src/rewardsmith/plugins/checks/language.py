"""Language match with py3langid (offline, ships its own model; a core dependency).

Expected languages may be written as BCP 47 or POSIX locale tags (``pt-BR``, ``pt_BR``,
``PT``, ``zh-Hant-TW``, ``de_DE.UTF-8``, ``iw``, ``por``): langcodes (same extra) reads the
tag and gives its language (https://github.com/georgkrause/langcodes, ``Language.get``,
``tag_distance``). The detector reads prose only: fenced and indented code blocks, inline
code, URLs and e-mail addresses are removed first (``_text.prose``), so a Spanish
explanation around a Python block is Spanish.

Before the statistical model, the writing system decides where it can (:func:`script_language`):
kana among Chinese characters is Japanese, Hangul is Korean, Thai, Greek, Hebrew, Georgian,
Armenian and the Indic scripts of one language name it outright (Unicode Script property,
read with ``regex``'s ``\\p{sc=...}``). A user turn of Chinese characters only (terse
Japanese is written so) expects Chinese or Japanese. Quoted and forwarded material in the
user turn (quotation marks, ``>`` lines, a forwarded or original message block) does not
drive the expected language when enough of the customer's own words remain. Close languages
match (:func:`same_language`): langcodes' CLDR-based ``tag_distance`` at most 34 both ways
(the mutually intelligible pairs id/ms, da/no/nn, cs/sk, hr/bs) or at most 10 one way (a
language and its macrolanguage: arz/ar, fa/prs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._segment import LazyPattern
from rewardsmith.plugins.checks._text import prose

_INSTALL_HINT = "language-match needs py3langid and langcodes: pip install 'rewardsmith[lang]'"
# langcodes' distance for "a language and its macrolanguage or a close variety": arz -> ar
# (Egyptian Arabic), wuu -> zh, nb -> no, tl -> fil are at most this far apart.
_SAME_LANGUAGE_DISTANCE = 10
# Mutually intelligible languages: at most this far apart in *both* directions (langcodes
# 3.5: id/ms 14/34, da/no 12/12, nb/nn 20/20, cs/sk 24/24, hr/bs 8/8). Pairs understood one
# way only (ca/es 20/80, uk/ru 24/84, gl/es 20/80) stay apart.
_MUTUAL_DISTANCE = 34
# Scripts written for one language (of those py3langid knows): text mostly in one of them
# is that language, whatever the statistical model says about a short or odd sample.
_SCRIPT_LANGUAGES = {
    "Hangul": "ko", "Thai": "th", "Lao": "lo", "Khmer": "km", "Myanmar": "my",
    "Georgian": "ka", "Armenian": "hy", "Greek": "el", "Hebrew": "he", "Sinhala": "si",
    "Tamil": "ta", "Telugu": "te", "Kannada": "kn", "Malayalam": "ml", "Gujarati": "gu",
    "Gurmukhi": "pa", "Oriya": "or",
}
# Compiled on first use: together ~4 ms of a cold start that may never read a script.
_LETTER_RE = LazyPattern(r"\p{L}")
_KANA_RE = LazyPattern(r"[\p{sc=Hiragana}\p{sc=Katakana}\u30fc\uff70]")
_HIRAGANA_RE = LazyPattern(r"\p{sc=Hiragana}")
_HAN_RE = LazyPattern(r"\p{sc=Han}")
_SCRIPT_RES = {name: LazyPattern(rf"(?V1)[\p{{sc={name}}}&&\p{{L}}]")
               for name in _SCRIPT_LANGUAGES}
# Japanese: hiragana (the particles no, ga, wo...) at least 5 % of the Chinese characters and
# kana, or kana at least 20 %. Kanji-heavy formal Japanese still has 30-50 % kana, nearly all
# hiragana; a Chinese text naming a Japanese brand in katakana has no hiragana.
_HIRAGANA_SHARE = 0.05
_KANA_SHARE = 0.2
_CHINESE_LABELS = frozenset({"zh", "yue", "wuu"})
# ISO 639-2 "no linguistic content", a label py3langid gives.
_NO_LANGUAGE = "zxx"

# Quoted material in a user turn: a quotation in marks (straight quotes only between
# non-letters, so apostrophes in "I'm" or "don't" are not quotes), e-mail quote lines, and
# everything from a forwarded/original message separator on.
_QUOTED_RES = [
    # An opening mark is never inside its own span: an unclosed run of openers then scans
    # to the next one, not to the end of the line each time (linear, not quadratic).
    LazyPattern(r'"[^"\n]{2,}"'),
    LazyPattern(r"(?<!\w)'[^'\n]{2,}'(?!\w)"),
    LazyPattern(r"\u2018[^\u2018\u2019\n]{2,}\u2019"),
    LazyPattern(r"\u201c[^\u201c\u201d\n]{2,}\u201d"),
    LazyPattern(r"\u201e[^\u201e\u201c\u201d\n]{2,}[\u201c\u201d]"),
    LazyPattern(r"\u00ab[^\u00ab\u00bb\n]{2,}\u00bb"),
    LazyPattern(r"\u300c[^\u300c\u300d]{2,}\u300d"),
    LazyPattern(r"\u300e[^\u300e\u300f]{2,}\u300f"),
    LazyPattern(r"(?m)^[ \t]*>.*$"),
    LazyPattern(r"(?ms)^[ \t]*-{2,}[ \t]*[^\n-]{3,60}?[ \t]*-{2,}[ \t]*$.*"),
]
# One identifier per candidate-language set: py3langid's set_languages mutates the model,
# and loading it takes most of a second, so each set is loaded once per process.
_LOCK = threading.Lock()


@lru_cache(maxsize=1024)
def language_of(tag: str) -> str:
    """The language subtag of a BCP 47 or POSIX locale tag: ``pt-BR``, ``pt_BR``, ``PT`` and
    ``pt_BR.UTF-8@euro`` -> ``pt``; deprecated and three-letter codes are normalised
    (``iw`` -> ``he``, ``por`` -> ``pt``, ``cmn`` -> ``zh``). Raises ``ValueError`` naming the
    tag when it names no language (``C``, ``und``, ``english``)."""
    return str(_parse(tag).language)


@lru_cache(maxsize=1024)
def _parse(tag: str) -> Any:
    """``tag`` as a langcodes ``Language``, individual languages folded into their
    macrolanguage (``cmn`` -> ``zh``, ``arb`` -> ``ar``). Raises ``ValueError`` naming it."""
    import langcodes

    cleaned = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-")
    try:
        language = langcodes.Language.get(langcodes.standardize_tag(cleaned, macro=True))
    except (langcodes.LanguageTagError, ValueError):
        language = None
    if language is None or not language.language or language.language == "und" or \
            not language.is_valid():
        raise ValueError(f"unknown language code {tag!r}: not a BCP 47 or POSIX locale tag "
                         "naming a language (e.g. 'de', 'pt-BR', 'pt_BR', 'zh-Hant-TW')")
    return language


@lru_cache(maxsize=1024)
def written_as(tag: str) -> str:
    """The language and script a tag asks for, region dropped: ``sr-Latn-RS`` ->
    ``sr-Latn``, ``zh_TW`` -> ``zh-Hant``, ``pt-BR`` -> ``pt-Latn`` (the likely script,
    langcodes ``maximize``). Raises ``ValueError`` as ``language_of``."""
    maximal = _parse(tag).maximize()
    return f"{maximal.language}-{maximal.script}" if maximal.script else str(maximal.language)


# py3langid labels Standard Chinese written in Traditional characters as Cantonese ("yue")
# about half the time (a Taiwanese support reply: yue 0.51, zh 0.48). Cantonese written as
# such uses characters Standard Chinese does not: without any of them, "yue" is taken as
# Chinese when Traditional Chinese is expected.
_CANTONESE_CHARS = frozenset("嘅咗冇佢唔喺嘢啲咁乜嗰哋噉嚟睇畀攞諗")


@lru_cache(maxsize=4096)
def same_language(a: str, b: str) -> bool:
    """True when two language subtags name one language, a language and its macrolanguage
    or a close variety (langcodes ``tag_distance`` at most 10 either way: arz/ar, nb/no),
    or two mutually intelligible languages (at most 34 both ways: id/ms, da/no, cs/sk)."""
    if a == b:
        return True
    import langcodes

    there, back = langcodes.tag_distance(a, b), langcodes.tag_distance(b, a)
    return min(there, back) <= _SAME_LANGUAGE_DISTANCE or max(there, back) <= _MUTUAL_DISTANCE


def script_language(text: str) -> str | None:
    """The language the writing system of ``text`` decides, or None when it does not.

    ``"ja"`` when Chinese characters and kana are most of the letters and hiragana are at
    least 5 % of them (or kana 20 %); the language of a one-language script (Hangul ->
    ``ko``, Thai -> ``th``, Greek -> ``el`` ...) when at least half the letters are in it.
    Latin, Cyrillic, Arabic, Devanagari and Chinese characters alone name no single
    language: None.
    """
    letters = len(_LETTER_RE.findall(text))
    if letters == 0:
        return None
    kana = len(_KANA_RE.findall(text))
    cjk = kana + len(_HAN_RE.findall(text))
    if 2 * cjk >= letters:
        hiragana = len(_HIRAGANA_RE.findall(text))
        japanese = hiragana >= _HIRAGANA_SHARE * cjk or kana >= _KANA_SHARE * cjk
        return "ja" if kana and japanese else None
    for name, pattern in _SCRIPT_RES.items():
        if 2 * len(pattern.findall(text)) >= letters:
            return _SCRIPT_LANGUAGES[name]
    return None


def only_chinese_characters(text: str) -> bool:
    """True when most letters of ``text`` are Chinese characters and none is kana: Chinese,
    or terse Japanese written in kanji alone (``注文番号、配送遅延十日``)."""
    letters = len(_LETTER_RE.findall(text))
    return letters > 0 and not _KANA_RE.search(text) and \
        2 * len(_HAN_RE.findall(text)) >= letters


def unquoted(text: str) -> str:
    """``text`` without quoted material: quotations in marks, ``>`` e-mail quote lines, and
    a forwarded or original message from its separator line on."""
    for pattern in reversed(_QUOTED_RES):
        text = pattern.sub(" ", text)
    return text


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...] | None) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        identifier.set_languages(list(languages))
    return identifier


@lru_cache(maxsize=256)
def _classify_prompt(languages: tuple[str, ...] | None, text: str) -> tuple[str, float]:
    """The prompt's language: computed once per prompt, not once per rollout."""
    language, confidence = _identifier(languages).classify(text)
    return str(language), float(confidence)


class LanguageMatch(Component["LanguageMatch.Config"]):
    """The response is in the expected language (from config, metadata, or the prompt)."""

    summary = "Response language equals the expected one (py3langid; config/metadata/prompt)."

    class Config(ComponentConfig):
        type: Literal["language-match"] = "language-match"
        expected: str | None = Field(
            default=None, description="Language code or locale tag, e.g. 'de', 'pt-BR'."
        )
        expected_metadata_key: str | None = Field(
            default=None,
            description="Sample metadata key holding the expected language code or BCP 47 / "
            "POSIX locale tag ('pt-BR', 'pt_BR', 'PT').",
        )
        from_prompt: bool = Field(
            default=False, description="Expect the language detected in the user turns."
        )
        languages: list[str] | None = Field(
            default=None,
            description="Restrict detection to these codes (more accurate when you know "
            "the candidates).",
        )
        min_chars: int = Field(
            default=20, ge=1,
            description="Shorter texts are undetermined: the component abstains.",
        )
        min_confidence: float = Field(
            default=0.5, ge=0, le=1,
            description="Below this detection probability the language is undetermined.",
        )

        @model_validator(mode="after")
        def _one_source(self) -> LanguageMatch.Config:
            given = [self.expected is not None, self.expected_metadata_key is not None,
                     self.from_prompt]
            if sum(given) != 1:
                raise ValueError("give exactly one of 'expected', 'expected_metadata_key' "
                                 "or 'from_prompt = true'")
            return self

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        try:
            import langcodes  # noqa: F401
            import py3langid  # noqa: F401
        except ImportError:
            raise ValueError(_INSTALL_HINT) from None
        with _LOCK:
            self._known = frozenset(_identifier(None).labels)
        languages = tuple(sorted({self._label(c) for c in config.languages})) \
            if config.languages else None
        self._languages = languages
        with _LOCK:
            self._identifier = _identifier(languages)
        self._expected_label = self._label(config.expected) if config.expected else None

    def _label(self, tag: str) -> str:
        """The detector's label for a language tag. Raises ``ValueError`` naming the tag."""
        language = language_of(tag)
        if language in self._known:
            return language
        close = [label for label in sorted(self._known) if same_language(language, label)]
        if not close:
            raise ValueError(f"unknown language code {tag!r}: py3langid cannot detect "
                             f"{language!r} (it knows {len(self._known)} languages, e.g. "
                             "en, de, fr, ja)")
        return close[0]

    def _prose(self, text: str, what: str) -> str:
        text = prose(text).strip()
        if len(text) < self.config.min_chars:
            raise ComponentError(f"{what} is too short ({len(text)} chars of prose, code and "
                                 "URLs left out) to tell its language", kind=ErrorKind.UNDETERMINED)
        return text

    def _ambiguous(self, what: str, language: str, confidence: float) -> ComponentError:
        return ComponentError(f"{what} language is ambiguous (best guess {language} at "
                              f"{confidence:.2f})", kind=ErrorKind.UNDETERMINED)

    def _detect(self, text: str, what: str) -> tuple[str, float]:
        text = self._prose(text, what)
        decided = self._decided_by_script(text)
        if decided is not None:
            return decided, 1.0
        if what == "prompt":
            language, confidence = _classify_prompt(self._languages, text)
        else:
            language, confidence = self._identifier.classify(text)
        if language == _NO_LANGUAGE:
            # py3langid's label for identifiers, hashes and other text in no language: the
            # check does not apply, like a text too short to tell.
            raise ComponentError(f"{what} has no linguistic content to tell its language "
                                 f"(detected {_NO_LANGUAGE} at {confidence:.2f})",
                                 kind=ErrorKind.UNDETERMINED)
        if confidence < self.config.min_confidence:
            raise self._ambiguous(what, language, confidence)
        return language, confidence

    def _decided_by_script(self, text: str) -> str | None:
        """The language the writing system alone names (kana, Hangul, Thai...), if known."""
        decided = script_language(text)
        return decided if decided is not None and decided in self._known else None

    def _expected(self, sample: Sample) -> tuple[frozenset[str], str | None]:
        """The detector labels a reply may be in, and the language-script the expected
        language was asked in (``written_as``; None when it comes from the prompt)."""
        cfg = self.config
        if self._expected_label is not None and cfg.expected is not None:
            return frozenset({self._expected_label}), written_as(cfg.expected)
        if cfg.expected_metadata_key is not None:
            code = sample.metadata.get(cfg.expected_metadata_key)
            if not isinstance(code, str) or not code.strip():
                raise ComponentError(f"metadata key {cfg.expected_metadata_key!r} is missing "
                                     "or not a language code", kind=ErrorKind.MISSING_METADATA)
            try:
                return frozenset({self._label(code)}), written_as(code)
            except ValueError as exc:
                raise ComponentError(f"metadata key {cfg.expected_metadata_key!r}: {exc}",
                                     kind="bad_metadata") from None
        prompt = sample.prompt_text(("user",))
        own_words = unquoted(prompt)
        # The customer's own words decide, unless quoting leaves too little of them.
        if len(prose(own_words).strip()) >= cfg.min_chars:
            prompt = own_words
        language = self._detect(prompt, "prompt")[0]
        if language in _CHINESE_LABELS and only_chinese_characters(prose(prompt)):
            return frozenset({language, "ja"}), None
        return frozenset({language}), None

    def score(self, sample: Sample) -> Score:
        expected, written = self._expected(sample)
        names = _names(expected)
        text = self._prose(sample.response, "response")
        decided = self._decided_by_script(text)
        if decided is not None:
            ok = any(same_language(decided, e) for e in expected)
            verdict = "matches" if ok else "does not match"
            return Score.from_bool(ok, f"response is {decided} by its script, {verdict} "
                                   f"expected {names}", confidence=1.0)
        ranked = [(str(lang), float(p)) for lang, p in self._identifier.rank(text)]
        language, confidence = ranked[0]
        if language == _NO_LANGUAGE:
            raise ComponentError(f"response has no linguistic content to tell its language "
                                 f"(detected {_NO_LANGUAGE} at {confidence:.2f})",
                                 kind=ErrorKind.UNDETERMINED)
        # The probability that the reply is in an expected language: the sum over the
        # detector's labels for it and its close varieties. Serbian in Latin script splits
        # between sr, hr and bs (0.45/0.29/0.25); none alone is confident, together they are.
        cantonese_ok = written == "zh-Hant" and not _CANTONESE_CHARS.intersection(text)
        matching = sum(p for lang, p in ranked
                       if any(same_language(lang, e) for e in expected)
                       or (written is not None and same_language(lang, written))
                       or (lang == "yue" and cantonese_ok))
        if matching >= self.config.min_confidence:
            return Score.from_bool(True, f"response is {names} ({matching:.2f}), matches "
                                   f"expected {names}", confidence=round(matching, 4))
        if confidence < self.config.min_confidence:
            raise self._ambiguous("response", language, confidence)
        return Score.from_bool(False, f"response is {language} ({confidence:.2f}), does not "
                               f"match expected {names}", confidence=round(confidence, 4))


def _names(languages: Iterable[str]) -> str:
    return " or ".join(sorted(languages))
