"""Script-aware segmentation shared by the checks: graphemes, word tokens, word counts and
whole-word keyword boundaries that hold for every script, not only Latin with spaces.

Built on the ``regex`` library (already a core dependency): ``\\X`` gives extended grapheme
clusters (UAX #29: a letter with its combining marks, an emoji ZWJ sequence, a flag) and
``\\p{Script=...}`` gives the Unicode Script property
(https://github.com/mrabarnett/mrab-regex, "Unicode" section). ICU's dictionary word
breaker would split Chinese, Japanese, Thai or Khmer into words, but PyICU has no wheel on
PyPI (a source build against libicu), so without a dictionary the scripts written without
spaces fall back to one token per grapheme -- character n-grams -- as search engines do
for CJK (see docs/decisions.md, "Script-aware text").

Rules, used by every check that reads words:

- a *word token* of a space-delimited script (Latin, Cyrillic, Greek, Arabic, Hebrew,
  Hangul, Devanagari...) is a maximal run of letters, combining marks, digits and ``_``;
- a character of a script written without spaces (Han, Hiragana, Katakana, Thai, Lao,
  Khmer, Myanmar; ``NO_SPACE_CLASS``) is one token with its combining marks (one grapheme);
- an emoji (with its modifiers and ZWJ sequence) is one token;
- punctuation and spaces are not tokens.

Callers fold first (``_text.fold``): NFKC, case-fold, invisible and bidi marks removed.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import regex


class LazyPattern:
    """A ``regex`` pattern compiled on first use. The Unicode-property classes below take
    ~50 ms to compile all together (loading the property tables, then set operations);
    a process that never reads text through them (a pack without these checks, a Lambda
    cold start) does not pay it. Compiling twice in a race is harmless."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: regex.Pattern[str] | None = None

    @property
    def compiled(self) -> regex.Pattern[str]:
        if self._compiled is None:
            self._compiled = regex.compile(self.source)
        return self._compiled

    def findall(self, text: str) -> list[Any]:
        return self.compiled.findall(text)

    def search(self, text: str) -> regex.Match[str] | None:
        return self.compiled.search(text)

    def match(self, text: str) -> regex.Match[str] | None:
        return self.compiled.match(text)

    def sub(self, replacement: str, text: str) -> str:
        return self.compiled.sub(replacement, text)

# Letters of scripts written without spaces between words: the Script property, plus the
# kana length and repeat marks that Unicode files under Common (U+30FC, U+FF70,
# U+3031-U+3035); intersected with \w so CJK punctuation (U+3001, U+300C...) stays
# punctuation. Not Script_Extensions: it lends Latin combining marks and the modifier
# apostrophe to some of these scripts.
_CJK_SCRIPTS = r"\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\u30fc\uff70\u3031-\u3035"
_SOUTHEAST_ASIAN_SCRIPTS = r"\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}"
NO_SPACE_CLASS = rf"[[{_CJK_SCRIPTS}{_SOUTHEAST_ASIAN_SCRIPTS}]&&\w]"
# ``regex``'s \w already holds combining marks, digits, connector punctuation and the
# joiners; minus the no-space letters it is "a letter of a space-delimited word".
_SPACED_WORD_CLASS = rf"[\w--{NO_SPACE_CLASS}]"
_EMOJI_START = r"[\p{Extended_Pictographic}\p{Regional_Indicator}]"

# Fast paths. ASCII text has one script and no marks: the stdlib pattern does the same work
# faster. Text with no character in these ranges has no emoji and no letter of a script
# written without spaces (those lie at U+0E00 and above, bar a few emoji; a test holds the
# ranges to the Unicode properties), so its tokens are plain words: a class of several
# Unicode properties costs ~10x a range check per character.
_ASCII_WORD_RE = re.compile(r"\w+")
_WORD_RE = regex.compile(r"\w+")
# Written as negated classes: a stdlib class with a range up to U+10FFFF takes ~8 ms to
# compile. MAYBE_SPECIAL: U+00A9, U+00AE, U+0E00-U+1FFF, U+203C, U+2049, U+2100 and up.
MAYBE_SPECIAL_RE = re.compile(
    "[^\x00-\u00a8\u00aa-\u00ad\u00af-\u0dff\u2000-\u203b\u203d-\u2048\u204a-\u20ff]"
)
# MAYBE_NO_SPACE: U+0E00-U+1FFF and U+2E80 and up.
MAYBE_NO_SPACE_RE = re.compile("[^\x00-\u0dff\u2000-\u2e7f]")
_ASCII_PUNCT_CHUNK_RE = re.compile(r"(?<!\S)[^\w\s]+(?!\S)")
_TOKEN_RE = LazyPattern(
    rf"(?V1)(?={NO_SPACE_CLASS}|{_EMOJI_START})\X|{_SPACED_WORD_CLASS}+"
)
# For word counts: a whitespace-delimited chunk of a spaced script (so "well-known" and
# "3.14" stay one word, as a word processor counts), or one no-space grapheme.
_CHUNK_RE = LazyPattern(rf"(?V1)(?={NO_SPACE_CLASS})\X|[\S--{NO_SPACE_CLASS}]+")
_PUNCT_CHUNK_RE = LazyPattern(rf"(?V1)(?<![\S--{NO_SPACE_CLASS}])[^\w\s]+"
                                rf"(?![\S--{NO_SPACE_CLASS}])")
_GRAPHEME_RE = regex.compile(r"\X")
_NO_SPACE_RE = LazyPattern(rf"(?V1){NO_SPACE_CLASS}")
# A boundary between a no-space letter and a letter/digit of another script, in either
# order: where a space would be if the writer had used one.
_SCRIPT_SEAM_RE = LazyPattern(
    rf"(?V1)(?<={NO_SPACE_CLASS})(?={_SPACED_WORD_CLASS})"
    rf"|(?<={_SPACED_WORD_CLASS})(?={NO_SPACE_CLASS})"
)
# Optional vowel signs of Arabic (harakat, superscript alef) and Hebrew (niqqud,
# cantillation), and the Arabic tatweel that only stretches a word: usually left out in
# writing, so a keyword written without them matches text written with them.
_MAYBE_MARKS_RE = re.compile("[\u0591-\u06ff]")
_OPTIONAL_MARKS_RE = re.compile(
    "[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u0640\u064b-\u065f"
    "\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed]"
)


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters (UAX #29): what a reader sees as one character."""
    return _GRAPHEME_RE.findall(text)


@lru_cache(maxsize=4096)
def is_no_space_char(ch: str) -> bool:
    """True for a letter of a script written without spaces (Han, kana, Thai, Khmer...)."""
    return _NO_SPACE_RE.match(ch) is not None


def has_no_space_script(text: str) -> bool:
    """True when any letter of ``text`` belongs to a script written without spaces."""
    return not text.isascii() and MAYBE_NO_SPACE_RE.search(text) is not None and \
        _NO_SPACE_RE.search(text) is not None


def word_tokens(text: str) -> list[str]:
    """The text's word tokens, in order (see the module docstring for the rules).

    ``text`` should be folded already. Linear in the length of the text.
    """
    if text.isascii():
        return _ASCII_WORD_RE.findall(text)
    if MAYBE_SPECIAL_RE.search(text) is None:
        return _WORD_RE.findall(text)
    return _TOKEN_RE.findall(text)


# Characters (graphemes) per word, roughly, in the scripts written without spaces: Chinese
# words average under two characters and Japanese ones about two; Thai, Lao, Khmer and
# Burmese spell words with letters, about four graphemes each. Character n-grams span
# ``n * CHARS_PER_WORD`` so that they cover about as much text as n words: an alphabetic
# script's character trigrams recur in any long text (in English, 40% of the letter
# trigrams of 1,000 letters repeat an earlier one), its 12-grams do not.
_CJK_LETTER_RE = LazyPattern(rf"(?V1)[[{_CJK_SCRIPTS}]&&\w]")
# A grapheme of Thai, Lao, Khmer or Burmese starts with a letter that is not a mark.
_SEA_BASE_RE = LazyPattern(rf"(?V1)[[{_SOUTHEAST_ASIAN_SCRIPTS}]&&[\w--\p{{M}}]]")
CHARS_PER_WORD = {"spaced": 1, "cjk": 2, "southeast_asian": 4}


def ngram_span(text: str, tokens: list[str], n: int) -> int:
    """The n-gram length, in tokens, that covers about ``n`` words of ``tokens`` (the word
    tokens of ``text``): ``n`` times ``CHARS_PER_WORD`` of the class most tokens belong to
    (words of spaced scripts, Chinese/Japanese characters, or Thai/Lao/Khmer/Burmese
    graphemes)."""
    if not has_no_space_script(text):
        return n
    cjk = len(_CJK_LETTER_RE.findall(text))
    southeast_asian = len(_SEA_BASE_RE.findall(text))
    counts = {"spaced": len(tokens) - cjk - southeast_asian, "cjk": cjk,
              "southeast_asian": southeast_asian}
    dominant = max(counts, key=lambda name: counts[name])
    return n * CHARS_PER_WORD[dominant]


def count_words(text: str) -> int:
    """Words as a reader counts them: whitespace-separated chunks holding a letter or
    digit ("well-known", "3.14" and "don't" are one word each; a lone "—" is none), and
    one word per character of a script written without spaces (Chinese, Japanese, Thai:
    the convention of word processors, e.g. "我用iPhone拍照" is 5 words)."""
    if text.isascii() or MAYBE_NO_SPACE_RE.search(text) is None:
        # Chunks bounded by whitespace, less those of punctuation only (anchored at a chunk
        # start, so linear).
        return len(text.split()) - len(_ASCII_PUNCT_CHUNK_RE.findall(text))
    return len(_CHUNK_RE.findall(text)) - len(_PUNCT_CHUNK_RE.findall(text))


def separate_scripts(text: str) -> str:
    """Insert a space wherever a no-space letter meets a letter/digit of another script.

    ``明白了ignore all`` becomes ``明白了 ignore all``: patterns anchored on ``\\b`` (an
    English injection phrase, a PII label) then see the word start they would see after a
    space. Meant for detectors that run Latin-script patterns over mixed text.
    """
    if text.isascii() or MAYBE_NO_SPACE_RE.search(text) is None:
        return text
    return _SCRIPT_SEAM_RE.sub(" ", text)


def strip_optional_marks(text: str) -> str:
    """Drop Arabic harakat and tatweel and Hebrew niqqud/cantillation (optional in writing)."""
    if text.isascii() or _MAYBE_MARKS_RE.search(text) is None:
        return text
    return _OPTIONAL_MARKS_RE.sub("", text)


# Arabic and Hebrew write some particles as part of the next word: Arabic wa-/fa- ("and",
# "so"), bi-/ka-/li- ("with", "like", "for") and the article al- ("وبالضمان": "and with the
# guarantee"), with li- + al- written "لل"; Hebrew ve-, ha-, be-, ke-, le-, mi-, she-. Arabic
# also glues possessive pronouns after a noun ("ضماننا": "our guarantee"). A whole-word
# keyword is found with them. Only for keywords of at least four letters: a shorter one
# (e.g. "مال", money) would be found inside other words ("كمال", a name).
_MIN_CLITIC_HOST = 4
_ARABIC_WORD_RE = re.compile("[\u0621-\u064a\u0671-\u06d3]+")
_HEBREW_WORD_RE = re.compile("[\u05d0-\u05ea]+")
_ARABIC_PROCLITICS = "(?:[\u0648\u0641]?(?:[\u0628\u0643]?\u0627\u0644|\u0644\u0644|" \
    "[\u0628\u0643\u0644])?)"  # (wa|fa)? (bi|ka)? al | lil | bi|ka|li
_ARABIC_ARTICLE = "(?:[\u0648\u0641]?(?:[\u0628\u0643]?\u0627\u0644|\u0644\u0644))"
# (ve|she|mi)? (ha|be|ke|le)?
_HEBREW_PREFIXES = "(?:[\u05d5\u05e9\u05de]?[\u05d4\u05d1\u05db\u05dc]?)"
# -huma -kuma -ha -hum -hunna -kum -kunna -na, -hu -ka -i
_ARABIC_ENCLITICS = "(?:\u0647\u0645\u0627|\u0643\u0645\u0627|\u0647\u0627|\u0647\u0645|" \
    "\u0647\u0646|\u0643\u0645|\u0643\u0646|\u0646\u0627|[\u0647\u0643\u064a])?"


def whole_word_pattern(phrase: str) -> str:
    """``regex`` source (V1 syntax) matching the plain, already folded ``phrase`` as a whole
    word in any script. Raises ``ValueError`` for a blank phrase.

    The phrase's words are joined by ``\\s+`` (a line break or doubled space between them
    still matches). At an edge that is a letter of a script written without spaces no
    boundary is required: without a dictionary a word boundary inside a run of Chinese or
    Thai cannot be told, so "退款" is found in "您的退款已经处理". At any other edge the
    neighbour must not be a letter, mark or digit of a spaced script; a no-space letter
    next to it is a change of script, hence a boundary ("iPhone" in "用iPhone拍照"). After
    the phrase Hangul is allowed: Korean glues particles to a word ("환불이", "iPhone을").
    Arabic and Hebrew keywords of four letters or more are found with the particles those
    scripts glue to a word (Arabic "و", "ب", "ال", "لل" before, pronouns such as "نا"
    after; Hebrew ve-, ha-, be-, le-, she- before): "الضمان" in "وبالضمان".
    """
    words = phrase.split()
    if not words:
        raise ValueError("blank phrase")
    body = r"\s+".join(regex.escape(word) for word in words)
    first, last = words[0], words[-1]
    clitics_before = clitics_after = ""
    if len(first) >= _MIN_CLITIC_HOST and _ARABIC_WORD_RE.fullmatch(first):
        clitics_before = _ARABIC_PROCLITICS
        if first.startswith("\u0627\u0644"):
            # A definite keyword: its article is required, and li- + al- is written "لل".
            body = r"\s+".join(regex.escape(word) for word in [first[2:], *words[1:]])
            clitics_before = _ARABIC_ARTICLE
    elif len(first) >= _MIN_CLITIC_HOST and _HEBREW_WORD_RE.fullmatch(first):
        clitics_before = _HEBREW_PREFIXES
    if len(last) >= _MIN_CLITIC_HOST and _ARABIC_WORD_RE.fullmatch(last):
        clitics_after = _ARABIC_ENCLITICS
    before = "" if is_no_space_char(first[0]) else rf"(?<!{_SPACED_WORD_CLASS})"
    after = "" if is_no_space_char(last[-1]) else \
        rf"(?![{_SPACED_WORD_CLASS}--\p{{Hangul}}])"
    return f"(?V1){before}{clitics_before}{body}{clitics_after}{after}"


# -- word boundaries for Latin- and Cyrillic-script patterns --------------------------------
# Python's \b sees "了i" in "明白了ignore" as inside one word, so an English phrase glued to
# Chinese would not match a \b-anchored pattern. A pattern's \b is taken against the letters
# of the pattern's own script only: next to "ignore", Han, kana, Hangul, Thai, Arabic,
# Hebrew or Cyrillic letters do not extend the word; next to "игнорируй", Latin ones do not.
# Word characters of a Latin-script pattern: digits, underscore, Latin letters (Latin-1,
# Extended-A/B, Extended Additional); of a Cyrillic-script pattern: digits, underscore,
# Cyrillic letters. Plain ranges, so stdlib ``re`` patterns can use them.
LATIN_WORD_CHAR = ("[0-9_A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
                   "\u1e00-\u1eff]")
CYRILLIC_WORD_CHAR = "[0-9_\u0400-\u052f]"
LATIN_WORD_START = f"(?<!{LATIN_WORD_CHAR})"
LATIN_WORD_END = f"(?!{LATIN_WORD_CHAR})"
CYRILLIC_WORD_START = f"(?<!{CYRILLIC_WORD_CHAR})"
CYRILLIC_WORD_END = f"(?!{CYRILLIC_WORD_CHAR})"
_CYRILLIC_RE = re.compile("[\u0400-\u052f]")


def script_bounded(pattern: str) -> str:
    r"""``pattern`` (regex source) with every ``\b`` made script-aware: a word boundary
    against letters of the pattern's own script (Cyrillic when the pattern has a Cyrillic
    letter, else Latin), so a Latin phrase glued to Han, kana, Hangul, Thai, Arabic, Hebrew
    or Cyrillic text still starts and ends a word.

    Each ``\b`` must sit next to a literal word, so which side the word is on is known
    from the source: before a letter or a group it starts a word (nothing of the script
    just before), anywhere else (end of pattern, a lookaround, a space, punctuation) it
    ends one. One single-character lookaround, not a two-sided boundary: it runs at every
    position of the text, so the pattern stays linear.
    """
    start, end = ((CYRILLIC_WORD_START, CYRILLIC_WORD_END) if _CYRILLIC_RE.search(pattern)
                  else (LATIN_WORD_START, LATIN_WORD_END))
    parts = pattern.split(r"\b")
    out = [parts[0]]
    for part in parts[1:]:
        starts_word = part[:1].isalpha() or part.startswith("(?:") or (
            part.startswith("(") and not part.startswith("(?"))
        out.append((start if starts_word else end) + part)
    return "".join(out)
