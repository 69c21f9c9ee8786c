"""Language match with py3langid (offline, ships its own model; extra ``rewardsmith[lang]``)."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample

_INSTALL_HINT = "language-match needs py3langid: pip install 'rewardsmith[lang]'"
# One identifier per candidate-language set: py3langid's set_languages mutates the model,
# and loading it takes most of a second, so each set is loaded once per process.
_LOCK = threading.Lock()


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
        expected: str | None = Field(default=None, description="ISO 639-1 code, e.g. 'de'.")
        expected_metadata_key: str | None = Field(
            default=None, description="Sample metadata key holding the expected code."
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
            import py3langid  # noqa: F401
        except ImportError:
            raise ValueError(_INSTALL_HINT) from None
        languages = tuple(sorted(config.languages)) if config.languages else None
        self._languages = languages
        with _LOCK:
            self._identifier = _identifier(languages)
        known = set(self._identifier.labels)
        for code in [config.expected, *(config.languages or [])]:
            if code is not None and code not in known:
                raise ValueError(f"unknown language code {code!r} (py3langid knows "
                                 f"{len(known)} ISO 639-1 codes, e.g. en, de, fr, ja)")

    def _detect(self, text: str, what: str) -> tuple[str, float]:
        text = text.strip()
        if len(text) < self.config.min_chars:
            raise ComponentError(f"{what} is too short ({len(text)} chars) to tell its "
                                 "language", kind=ErrorKind.UNDETERMINED)
        if what == "prompt":
            language, confidence = _classify_prompt(self._languages, text)
        else:
            language, confidence = self._identifier.classify(text)
        if confidence < self.config.min_confidence:
            raise ComponentError(f"{what} language is ambiguous (best guess {language} at "
                                 f"{confidence:.2f})", kind=ErrorKind.UNDETERMINED)
        return language, confidence

    def _expected(self, sample: Sample) -> str:
        cfg = self.config
        if cfg.expected is not None:
            return cfg.expected
        if cfg.expected_metadata_key is not None:
            code = sample.metadata.get(cfg.expected_metadata_key)
            if not isinstance(code, str) or not code:
                raise ComponentError(f"metadata key {cfg.expected_metadata_key!r} is missing "
                                     "or not a language code", kind=ErrorKind.MISSING_METADATA)
            return code.strip().lower()
        return self._detect(sample.prompt_text(("user",)), "prompt")[0]

    def score(self, sample: Sample) -> Score:
        expected = self._expected(sample)
        language, confidence = self._detect(sample.response, "response")
        ok = language == expected
        verdict = "matches" if ok else "does not match"
        return Score.from_bool(ok, f"response is {language} ({confidence:.2f}), {verdict} "
                               f"expected {expected}", confidence=round(confidence, 4))
