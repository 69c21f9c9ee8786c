"""unicode-hygiene: each category, with false-positive guards for legitimate text."""

from __future__ import annotations

import pytest

from rewardsmith.plugins.checks.unicode_hygiene import UnicodeHygiene

CLEAN = [
    "Plain ASCII with tabs\tand\nnewlines\r\n",
    "Café Lumière, Kaffeerösterei Straße, naïve façade",
    "Москва — столица России.",  # all-Cyrillic words are fine
    "東京都の請求書です。Invoice for iPhone手机.",
    "Die Größe beträgt 5 μm; résumé ≈ CV; 10 € ± 2 %",
    "Family emoji: \U0001f468\u200d\U0001f469\u200d\U0001f467 and ❤\ufe0f",
    "Scotland: \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "Ελληνικά κείμενα",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian with ZWNJ
    "\u0915\u094d\u200d\u0937",  # Devanagari half-form with ZWJ
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_passes(build, sample, text):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed, score.rationale
    assert score.value == 1.0 and score.measurements["total"] == 0


@pytest.mark.parametrize(("text", "category"), [
    ("bell\x07 char", "control"),
    ("c1 control \x85 here", "control"),
    ("private \ue000 use", "private_use"),
    ("decoding err\ufffdr", "replacement"),
    ("zero\u200bwidth", "invisible"),
    ("word\u2060joiner", "invisible"),
    ("\ufeffBOM at start", "invisible"),
    ("soft\u00adhyphen", "invisible"),
    ("hangul\u3164filler", "invisible"),
    ("hidden \U000e0069\U000e0067\U000e006e tags", "invisible"),
    ("bidi \u202eoverride", "bidi"),
    ("isolate \u2066x\u2069", "bidi"),
    ("unassigned \U000e0fff", "unassigned"),
    ("Paypal vs P\u0430ypal", "mixed_script"),  # Cyrillic a
    ("micr\u03bfsoft", "mixed_script"),  # Greek omicron
])
def test_each_category_is_caught(build, sample, text, category):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed is False, text
    assert score.measurements[category] >= 1
    assert score.value < 1.0
    assert category in score.rationale


def test_value_falls_with_count_and_budget(build, sample):
    text = "a\u200bb\u200bc\u200bd"
    assert build(UnicodeHygiene).score(sample(text)).value == pytest.approx(1 / 4)
    assert build(UnicodeHygiene, max_violations=3).score(sample(text)).passed


def test_categories_can_be_selected_and_chars_allowed(build, sample):
    only_control = build(UnicodeHygiene, categories=["control"])
    assert only_control.score(sample("zero\u200bwidth")).passed
    allowed = build(UnicodeHygiene, allow_chars="\u00ad")
    assert allowed.score(sample("soft\u00adhyphen")).passed


@pytest.mark.parametrize("text", ["ab\u200dcd", "ab\u200ccd", "\u200cstart", "\u0645\u200c"])
def test_joiners_in_latin_or_at_edges_are_flagged(build, sample, text):
    assert build(UnicodeHygiene).score(sample(text)).passed is False
