"""Language match with py3langid (offline, ships its own model; extra ``rewardsmith[lang]``).

Expected languages may be written as BCP 47 or POSIX locale tags (``pt-BR``, ``pt_BR``,
``PT``, ``zh-Hant-TW``, ``de_DE.UTF-8``, ``iw``, ``por``): langcodes (same extra) reads the
tag and gives its language (https://github.com/georgkrause/langcodes, ``Language.get``,
``tag_distance``). The detector reads prose only: fenced and indented code blocks, inline
code, URLs and e-mail addresses are removed first (``_text.prose``), so a Spanish
explanation around a Python block is Spanish.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._text import prose

_INSTALL_HINT = "language-match needs py3langid and langcodes: pip install 'rewardsmith[lang]'"
# langcodes' distance for "a language and its macrolanguage or a close variety": arz -> ar
# (Egyptian Arabic), wuu -> zh, nb -> no, tl -> fil are at most this far apart.
_SAME_LANGUAGE_DISTANCE = 10
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
    or a close variety (langcodes ``tag_distance`` at most 10 either way: arz/ar, nb/no)."""
    if a == b:
        return True
    import langcodes

    return min(langcodes.tag_distance(a, b), langcodes.tag_distance(b, a)) <= \
        _SAME_LANGUAGE_DISTANCE


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
        if what == "prompt":
            language, confidence = _classify_prompt(self._languages, text)
        else:
            language, confidence = self._identifier.classify(text)
        if confidence < self.config.min_confidence:
            raise self._ambiguous(what, language, confidence)
        return language, confidence

    def _expected(self, sample: Sample) -> tuple[str, str]:
        """The expected language's detector label and the language-script it was asked in
        (``written_as``)."""
        cfg = self.config
        if self._expected_label is not None and cfg.expected is not None:
            return self._expected_label, written_as(cfg.expected)
        if cfg.expected_metadata_key is not None:
            code = sample.metadata.get(cfg.expected_metadata_key)
            if not isinstance(code, str) or not code.strip():
                raise ComponentError(f"metadata key {cfg.expected_metadata_key!r} is missing "
                                     "or not a language code", kind=ErrorKind.MISSING_METADATA)
            try:
                return self._label(code), written_as(code)
            except ValueError as exc:
                raise ComponentError(f"metadata key {cfg.expected_metadata_key!r}: {exc}",
                                     kind="bad_metadata") from None
        label = self._detect(sample.prompt_text(("user",)), "prompt")[0]
        return label, label

    def score(self, sample: Sample) -> Score:
        expected, written = self._expected(sample)
        text = self._prose(sample.response, "response")
        ranked = [(str(lang), float(p)) for lang, p in self._identifier.rank(text)]
        language, confidence = ranked[0]
        # The probability that the reply is in the expected language: the sum over the
        # detector's labels for it and its close varieties. Serbian in Latin script splits
        # between sr, hr and bs (0.45/0.29/0.25); none alone is confident, together they are.
        cantonese_ok = written == "zh-Hant" and not _CANTONESE_CHARS.intersection(text)
        matching = sum(p for lang, p in ranked
                       if same_language(lang, expected) or same_language(lang, written)
                       or (lang == "yue" and cantonese_ok))
        if matching >= self.config.min_confidence:
            return Score.from_bool(True, f"response is {expected} ({matching:.2f}), matches "
                                   f"expected {expected}", confidence=round(matching, 4))
        if confidence < self.config.min_confidence:
            raise self._ambiguous("response", language, confidence)
        return Score.from_bool(False, f"response is {language} ({confidence:.2f}), does not "
                               f"match expected {expected}", confidence=round(confidence, 4))
