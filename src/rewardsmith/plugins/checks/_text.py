"""Text normalisation shared by the matching checks (keywords, reference, grounding,
injection), so that "the same text" means the same thing in each of them.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE_RE = re.compile(r"\s+")
_PUNCT_RE = re.compile(r"[^\w\s]")
# Unicode tag characters (U+E0020-U+E007E) mirror ASCII and render invisibly; they are
# used to smuggle instructions past human reviewers ("ASCII smuggling").
_TAG_TO_ASCII = {cp: cp - 0xE0000 for cp in range(0xE0020, 0xE007F)}
_TAG_RUN_RE = re.compile("[\U000e0020-\U000e007e]+")


# Every format character (general category Cf) as of Unicode 15, as one character class:
# a regex substitution runs in C, a per-character category lookup does not. A test checks
# the class still covers every Cf character of the running Python's Unicode database.
FORMAT_CHARS_RE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)


def strip_format_chars(text: str) -> str:
    """Drop invisible format characters (zero-width spaces/joiners, bidi controls, BOM)."""
    if text.isascii():
        return text
    return FORMAT_CHARS_RE.sub("", text)


def reveal_tags(text: str) -> str:
    """Turn invisible Unicode tag characters back into the ASCII they mirror."""
    if text.isascii():
        return text
    # Spaces around a revealed run: hidden text glued to visible words is still its own words.
    return _TAG_RUN_RE.sub(lambda m: " " + m.group().translate(_TAG_TO_ASCII) + " ", text)


def fold(text: str) -> str:
    """Compatibility-normalise (NFKC: full-width letters, ligatures), drop invisible format
    characters and case-fold. Defeats the cheap evasions of a word list."""
    if not text.isascii():
        text = strip_format_chars(unicodedata.normalize("NFKC", text))
    return text.casefold()


def collapse_space(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def drop_punctuation(text: str) -> str:
    return _PUNCT_RE.sub(" ", text)
