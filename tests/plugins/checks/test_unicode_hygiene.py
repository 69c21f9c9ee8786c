# Greek, Cyrillic, Mongolian and look-alike letters are what these tests are about.
# ruff: noqa: RUF001, RUF003
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
    # A BOM opening the text is an encoding signature (round 3 of issue 9); inside, it hides.
    ("a BOM\ufeffinside", "invisible"),
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


# -- Greek and symbols in science vs homoglyphs inside a word (issue 9, cases A7, A8) -----
# Written with escapes: ruff (rightly) flags Greek and Cyrillic look-alikes in source.
MU, OMEGA, DELTA, LAMBDA = "\u03bc", "\u03a9", "\u0394", "\u03bb"
ALPHA, GAMMA, KAPPA, SMALL_DELTA = "\u03b1", "\u03b3", "\u03ba", "\u03b4"

SCIENCE = [
    # A7
    f"The buffer holds 25 {MU}L and the reaction releases {DELTA}H = \u221257 kJ/mol at "
    f"298 K ({OMEGA} = 4.7).",
    f"Add 50 {MU}mol of NaCl to 10 {MU}g/mL agarose; incubate for 30 {MU}s.",
    f"R1 = 4.7 k{OMEGA}, R2 = 10 M{OMEGA}, sheet resistance 3 m{OMEGA}/sq.",
    f"{LAMBDA}max = 450 nm; {DELTA}{DELTA}G = \u22121.2 kcal/mol; {DELTA}Gbind is small.",
    f"TNF{ALPHA} and IFN{GAMMA} rise, NF{KAPPA}B is activated in {GAMMA}{SMALL_DELTA}T cells.",
    f"5{ALPHA}-reductase, {ALPHA}-helix, {ALPHA}{GAMMA} ratio, K{ALPHA} line at 8 keV.",
    "\u00b5mol with the micro sign, 1 \u2126 with the ohm sign, \u212b",
]


@pytest.mark.parametrize("text", SCIENCE)
def test_greek_letters_used_in_science_are_clean(build, sample, text):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed, score.rationale
    assert score.measurements["mixed_script"] == 0


@pytest.mark.parametrize(("text", "word"), [
    ("Sign in at p\u0430ypal.com to confirm", "p\u0430ypal"),  # A8: Cyrillic a
    ("Sign in at p\u03b1ypal.com", "p\u03b1ypal"),  # Greek small alpha between Latin letters
    ("\u0391pple ID locked", "\u0391pple"),  # Greek capital alpha: identical to A
    ("Visit g\u043e\u043egle.com", "g\u043e\u043egle"),  # two Cyrillic o
    ("Log in to Micr\u03bfsoft", "Micr\u03bfsoft"),  # Greek omicron
    ("\u041c\u043e\u0441\u043a\u0432a is big", "\u041c\u043e\u0441\u043a\u0432a"),  # Latin a
    ("\uff50aypal", "\uff50aypal"),  # a full-width p
    ("\u0391\u03b8a\u03bd\u03b1", "\u0391\u03b8a\u03bd\u03b1"),  # Latin a in a Greek word
    ("\u0570ello world", "\u0570ello"),  # Armenian ho
    ("\u0397ello there", "\u0397ello"),  # Greek capital eta
])
def test_homoglyph_inside_a_word_is_flagged(build, sample, text, word):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed is False
    assert score.measurements["mixed_script"] == 1
    assert repr(word) in score.rationale


def test_greek_capital_yot_is_a_twin_of_j(build, sample):
    assert build(UnicodeHygiene).score(sample("\u037fava")).measurements["mixed_script"] == 1


def test_each_spoofed_word_counts_once(build, sample):
    text = "p\u0430ypal and \u0430pple and paypal"
    assert build(UnicodeHygiene).score(sample(text)).measurements["mixed_script"] == 2


# -- after landing: Greek in other scientific notations, homoglyphs in other scripts -------

@pytest.mark.parametrize("text", [
    "The α-helix and β-sheet motifs dominate; β-lactam antibiotics bind PBPs.",
    "We approximate π ≈ 3.14 and set σ = 0.2 for the noise.",
    "Add 50 \u00b5L of buffer and 10 \u00b5mol of substrate.",  # MICRO SIGN
    "Add 50 \u03bcL of buffer and 10 \u03bcmol of substrate; 5 \u03bcm pores.",  # GREEK MU
    "The bond length is 1.54 Å at 25 °C; 37℃; 5 Ω and 3 kΩ; 300 \u212a.",
    "αβ T cells, γδ T cells, TNF-α, IFN-γ, NF-κB and IL-1β are cytokines.",
    "TNFα and IL1β, λmax 450 nm, νmax 1720 cm-1, ΔG and ΔΔG, kΩ, αsyn, βgal, Gαq.",
    "the αvβ3 integrin and γδT cells",
    "Η θερμοκρασία είναι 25 βαθμοί Κελσίου και το pH είναι 7.",
    "Ο αλγόριθμος Dijkstra και το API της Google.",
    "the σ-algebra, ε-δ proof, the χ² test and the Γ function",
    "Beograd je glavni grad. Београд је главни град.",
])
def test_greek_in_scientific_notation_and_separate_scripts_are_clean(build, sample, text):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed, score.rationale


@pytest.mark.parametrize(("text", "word"), [
    ("Download from micr\u043esoft.com now", "micr\u043esoft"),  # Cyrillic o
    ("Search on g\u03bfogle.com", "g\u03bfogle"),  # Greek omicron
    ("Visit g\u0585ogle.com", "g\u0585ogle"),  # Armenian oh
    ("Your \u0410mazon order", "\u0410mazon"),  # Cyrillic capital A
    ("Log in to \u03bdetflix.com", "\u03bdetflix"),  # Greek nu at the start
    ("Pay at \u03c1aypal.com", "\u03c1aypal"),  # Greek rho at the start
    ("Open your ban\u03ba account", "ban\u03ba"),  # Greek kappa at the end
    ("Back up to \u03b9cloud", "\u03b9cloud"),  # Greek iota at the start
    ("Visit \u13a0ell.com", "\u13a0ell"),  # Cherokee A looks like D
    ("Welcome to A\u03b8\u03ae\u03bd\u03b1", "A\u03b8\u03ae\u03bd\u03b1"),  # Latin A, Greek word
])
def test_homoglyph_spoofs_in_other_scripts_and_positions(build, sample, text, word):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.measurements["mixed_script"] == 1, score.rationale
    assert repr(word) in score.rationale


def test_a_byte_order_mark_opening_the_text_is_not_hidden_content(build, sample):
    check = build(UnicodeHygiene)
    assert check.score(sample("\ufeff{\"invoice\": \"AOS-2024-0193\"}")).passed
    assert check.score(sample("\ufeff\ufeff{}")).passed is False


# -- attacker pass 2 (issue 9): the Mongolian vowel separator spells words ----------------
MVS = "\u180e"


def test_mongolian_vowel_separator_between_mongolian_letters_is_clean(build, sample):
    # "ᠲᠠᠨ ᠤ ᠵᠠᠬᠢᠶᠠᠯᠭ<MVS>ᠠ ᠮᠠᠷᠭᠠᠰᠢ ᠢᠷᠡᠨ<MVS>ᠡ᠃" ("your order arrives tomorrow"): the separator
    # before a final a/e is Mongolian spelling, not padding.
    text = (f"\u1832\u1820\u1828 \u1824 \u1835\u1820\u182c\u1822\u1836\u1820\u182f\u182d{MVS}"
            f"\u1820 \u182e\u1820\u1837\u182d\u1820\u1830\u1822 \u1822\u1837\u1821\u1828{MVS}"
            "\u1821\u1803")
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed is True and score.measurements["invisible"] == 0, score.rationale


@pytest.mark.parametrize("text", [f"pay{MVS}pal", f"{MVS}\u1820\u1828", f"\u1820{MVS}"])
def test_mongolian_vowel_separator_elsewhere_is_flagged(build, sample, text):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed is False and score.measurements["invisible"] == 1


# -- attacker pass 2: a word spelt wholly in mathematical alphanumerics is styled text -----
@pytest.mark.parametrize("text", [
    "Visit \U0001d429\U0001d41a\U0001d432\U0001d429\U0001d41a\U0001d425.com to confirm",  # bold
    "Go to \U0001d699\U0001d68a\U0001d6a2\U0001d699\U0001d68a\U0001d695.com",  # monospace
])
def test_a_word_in_mathematical_letters_is_flagged(build, sample, text):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed is False and score.measurements["mixed_script"] == 1


@pytest.mark.parametrize("text", [
    # single mathematical letters: a bold vector, italic variables, a two-letter product
    "Let \U0001d431 be a vector and \U0001d400\U0001d431 = \U0001d41b.",
    "Take \U0001d6fc = 0.5 and \U0001d706 = 2; \U0001d453(\U0001d465) = \U0001d465\u00b2.",
    # full-width Latin is how Chinese and Japanese text writes Latin words
    "\uff30\uff24\uff26\u30d5\u30a1\u30a4\u30eb\u3092\u9001\u308a\u307e\u3057\u305f\u3002",
])
def test_mathematical_symbols_and_full_width_words_are_clean(build, sample, text):
    score = build(UnicodeHygiene).score(sample(text))
    assert score.passed is True, score.rationale
