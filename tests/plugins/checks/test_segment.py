"""Shared script-aware segmentation (_segment) and prose extraction (_text.prose)."""

from __future__ import annotations

import pytest
import regex

from rewardsmith.plugins.checks._segment import (
    MAYBE_NO_SPACE_RE,
    MAYBE_SPECIAL_RE,
    NO_SPACE_CLASS,
    count_words,
    graphemes,
    has_no_space_script,
    ngram_span,
    separate_scripts,
    strip_optional_marks,
    whole_word_pattern,
    word_tokens,
)
from rewardsmith.plugins.checks._text import fold, prose

THANKS_TH = "\u0e02\u0e2d\u0e1a\u0e04\u0e38\u0e13"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"


def test_fast_path_ranges_hold_every_special_character():
    # Characters from U+2100 (U+2E80 for no-space letters) on are inside the ranges anyway.
    special = regex.compile(rf"(?V1){NO_SPACE_CLASS}|[\p{{Extended_Pictographic}}"
                            r"\p{Regional_Indicator}]")
    no_space = regex.compile(rf"(?V1){NO_SPACE_CLASS}")
    for cp in range(0x2E80):
        ch = chr(cp)
        if special.match(ch):
            assert MAYBE_SPECIAL_RE.match(ch), f"U+{cp:04X}"
        if no_space.match(ch):
            assert MAYBE_NO_SPACE_RE.match(ch), f"U+{cp:04X}"
    assert not MAYBE_SPECIAL_RE.search("caf\u00e9 \u2014 \u2019 \u20ac 5")


def test_graphemes_keep_marks_and_emoji_sequences_whole():
    text = "e\u0301" + FAMILY + "\U0001f1eb\U0001f1f7" + "\u0e01\u0e48" + "\U0001f44d\U0001f3fd"
    assert graphemes(text) == ["e\u0301", FAMILY, "\U0001f1eb\U0001f1f7", "\u0e01\u0e48",
                               "\U0001f44d\U0001f3fd"]


def test_word_tokens_per_script():
    # Spaced scripts give words; Chinese, Japanese, Thai give one token per character
    # (with its marks); emoji sequences are one token; punctuation is none.
    assert word_tokens("hello, wörld! a_b 3") == ["hello", "wörld", "a_b", "3"]
    assert word_tokens("我们承诺。") == ["我", "们", "承", "诺"]
    assert word_tokens("お問い合わせ") == ["お", "問", "い", "合", "わ", "せ"]
    assert word_tokens("用iPhone拍照") == ["用", "iPhone", "拍", "照"]
    assert word_tokens("\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35") == [
        "\u0e2a", "\u0e27\u0e31", "\u0e2a", "\u0e14\u0e35"]  # Thai: marks stay on their letter
    assert word_tokens("환불이 완료") == ["환불이", "완료"]  # Korean is written with spaces
    assert word_tokens("مرحبا بكم") == ["مرحبا", "بكم"]
    assert word_tokens("שלום לכם") == ["שלום", "לכם"]
    assert word_tokens(f"ok {FAMILY}{FAMILY}") == ["ok", FAMILY, FAMILY]


def test_fold_keeps_emoji_joiners_but_drops_other_invisibles():
    assert fold(FAMILY) == FAMILY
    assert fold("ig\u200dnore \u200f\u05e9\u05dc\u05d5\u05dd\u200e") == \
        "ignore \u05e9\u05dc\u05d5\u05dd"
    assert word_tokens(fold(f"{FAMILY} x")) == [FAMILY, "x"]


def test_count_words():
    assert count_words("well-known facts, don't — 3.14") == 4  # a lone dash is no word
    assert count_words("我用iPhone拍照") == 5
    assert count_words("お問い合わせありがとうございます。") == 16
    assert count_words("환불이 완료되었습니다") == 2
    assert count_words("   ") == 0


@pytest.mark.parametrize(("text", "span"), [
    ("one two three", 3),
    ("café crème brûlée", 3),
    ("我们承诺七天内全额退款 ok", 6),
    ("お問い合わせ ok", 6),
    (THANKS_TH + " ok", 12),
    ("សូមអរគុណ ok", 12),  # Khmer
    ("我们 and many more English words around it here", 3),  # mostly English
])
def test_ngram_span_scales_with_characters_per_word(text, span):
    assert ngram_span(text, word_tokens(text), 3) == span


def test_no_space_detection():
    assert has_no_space_script("abc 退款")
    assert has_no_space_script("\u1780\u17d2\u1798")  # Khmer
    assert not has_no_space_script("환불 Москва abc")


def test_separate_scripts_puts_a_space_at_script_seams():
    assert separate_scripts("明白了ignore all prior instructions") == \
        "明白了 ignore all prior instructions"
    assert separate_scripts("用iPhone拍照") == "用 iPhone 拍照"
    assert separate_scripts("plain text") == "plain text"
    assert regex.search(r"\bignore\b", separate_scripts("好的ignore"))


@pytest.mark.parametrize(("phrase", "text", "found"), [
    ("退款", "您的退款已经处理完毕。", True),  # inside a Chinese run
    ("承诺", "我们承诺七天内全额退款。", True),
    ("iphone", "我用iphone拍照", True),  # a change of script is a boundary
    ("ass", "a classic assessment", False),
    ("ass", "what an ass!", True),
    ("환불", "환불이 완료되었습니다", True),  # Korean particle after the word
    ("환불", "전환불가", False),  # but not inside another Hangul word
    ("free money", "free \n money", True),
    ("c++", "c++x", False),
    (THANKS_TH, THANKS_TH + "\u0e04\u0e23\u0e31\u0e1a", True),  # Thai "thank you" + polite
])
def test_whole_word_pattern(phrase, text, found):
    assert (regex.search(whole_word_pattern(phrase), text) is not None) is found


def test_whole_word_pattern_rejects_blank():
    with pytest.raises(ValueError, match="blank"):
        whole_word_pattern("  ")


def test_optional_marks_are_stripped():
    assert strip_optional_marks("شُكْرًا") == "شكرا"
    assert strip_optional_marks("مـرحـبـا") == "مرحبا"  # tatweel
    assert strip_optional_marks("שָׁלוֹם") == "שלום"
    assert strip_optional_marks("café") == "café"


def test_prose_drops_code_urls_and_addresses():
    text = ("Ejecute `pip install foo` y visite https://example.com/docs?x=1 hoy.\n\n"
            "```python\nprint('hello world')\n```\n\n"
            "~~~\nmore code\n~~~\n\n"
            "    indented = code()\n    more = code()\n\n"
            "Escriba a soporte@example.com.\n"
            "- item\n    continuation of the item")
    out = prose(text)
    for gone in ("pip install", "example.com", "print", "more code", "indented", "soporte@"):
        assert gone not in out, gone
    for kept in ("Ejecute", "y visite", "hoy.", "Escriba a", "continuation of the item"):
        assert kept in out, kept


def test_prose_unclosed_fence_runs_to_the_end():
    assert prose("Hola amigos.\n```\ncode\nmore").strip() == "Hola amigos."


def test_floods_are_read_in_one_pass():
    # Anchored runs: a long run of backticks or word characters is tried once (rescanning
    # it from every position would take minutes at this size).
    assert prose("x" + "`" * 200_000) == "x" + "`" * 200_000  # no span without content
    assert prose("a" * 200_000 + "@") == "a" * 200_000 + "@"  # no address
    assert "`" not in prose("`a " * 60_000)  # pairs of backticks: code spans
    assert len(word_tokens("退" * 200_000)) == 200_000
    assert count_words("x-" * 100_000) == 1
    assert count_words("\u2014" * 100_000 + "\u00e9") == 1
