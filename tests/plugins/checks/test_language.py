"""language-match with the real py3langid model."""

from __future__ import annotations

import builtins

import pytest
from pydantic import ValidationError

from rewardsmith.core.errors import ComponentError
from rewardsmith.plugins.checks.language import LanguageMatch

EN = "The invoice lists three items and the total amount due is payable within thirty days."
DE = "Die Rechnung enthält drei Positionen, und der Gesamtbetrag ist innerhalb von dreißig " \
     "Tagen fällig."
FR = "La facture comprend trois articles et le montant total est payable sous trente jours."


def test_expected_from_config(build, sample):
    check = build(LanguageMatch, expected="de")
    ok = check.score(sample(DE))
    assert ok.passed and ok.value == 1.0 and ok.measurements["confidence"] > 0.5
    bad = check.score(sample(EN))
    assert bad.passed is False and "en" in bad.rationale and "expected de" in bad.rationale


def test_expected_from_metadata(build, sample):
    check = build(LanguageMatch, expected_metadata_key="lang")
    assert check.score(sample(FR, metadata={"lang": "fr"})).passed
    assert check.score(sample(FR, metadata={"lang": "de"})).passed is False
    with pytest.raises(ComponentError) as info:
        check.score(sample(FR))
    assert info.value.kind == "missing_metadata"


def test_expected_from_prompt(build, sample):
    check = build(LanguageMatch, from_prompt=True)
    assert check.score(sample(DE, user="Bitte fasse die folgende Rechnung auf Deutsch "
                                       "zusammen und nenne den Gesamtbetrag.")).passed
    assert check.score(sample(EN, user="Bitte fasse die folgende Rechnung auf Deutsch "
                                       "zusammen und nenne den Gesamtbetrag.")).passed is False


def test_short_text_abstains(build, sample):
    with pytest.raises(ComponentError) as info:
        build(LanguageMatch, expected="en").score(sample("OK"))
    assert info.value.kind == "undetermined"


def test_low_confidence_abstains(build, sample):
    check = build(LanguageMatch, expected="en", min_chars=1, min_confidence=0.99)
    with pytest.raises(ComponentError) as info:
        check.score(sample("12345 67890 !!! ???"))
    assert info.value.kind == "undetermined"


def test_restricted_languages(build, sample):
    check = build(LanguageMatch, expected="de", languages=["de", "en"])
    assert check.score(sample(DE)).passed


def test_exactly_one_source():
    with pytest.raises(ValidationError, match="exactly one"):
        LanguageMatch.Config.model_validate({"type": "language-match", "id": "l"})
    with pytest.raises(ValidationError, match="exactly one"):
        LanguageMatch.Config.model_validate({"type": "language-match", "id": "l",
                                             "expected": "en", "from_prompt": True})


def test_unknown_language_code_fails_at_load(build):
    with pytest.raises(ValueError, match="unknown language code 'english'"):
        build(LanguageMatch, expected="english")


def test_missing_extra_names_the_install_command(build, monkeypatch):
    real_import = builtins.__import__

    def no_langid(name, *args, **kwargs):
        if name.startswith("py3langid"):
            raise ImportError("No module named 'py3langid'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_langid)
    with pytest.raises(ValueError, match=r"pip install 'rewardsmith\[lang\]'"):
        build(LanguageMatch, expected="en")
