# ruff: noqa: RUF001, RUF003 — look-alike letters are this module's data
"""Text normalisation shared by the matching checks (keywords, reference, grounding,
injection), so that "the same text" means the same thing in each of them.
"""

from __future__ import annotations

import json
import re
import unicodedata

import regex

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


# A zero-width joiner inside an emoji sequence (family, profession, flag variants) is part
# of one grapheme: the joined emoji is one symbol, not two.
_EMOJI_ZWJ_RE = regex.compile(
    r"(?<=[\p{Extended_Pictographic}\p{Emoji_Modifier}\ufe0f])\u200d"
    r"(?=\p{Extended_Pictographic})"
)


def strip_format_chars(text: str) -> str:
    """Drop invisible format characters (zero-width spaces/joiners, bidi controls, BOM),
    except a zero-width joiner inside an emoji ZWJ sequence."""
    if text.isascii():
        return text
    if "\u200d" in text and _EMOJI_ZWJ_RE.search(text) is not None:
        return "\u200d".join(FORMAT_CHARS_RE.sub("", part)
                              for part in _EMOJI_ZWJ_RE.split(text))
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


_FENCE_OPEN_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
_INDENTED_RE = re.compile(r"(?: {4}|\t)")
# Runs anchored at their start and end, so a long run of backticks or of word characters
# is tried once, not once per position (linear time).
_INLINE_CODE_RE = re.compile(r"(?<!`)(`+)(?!`)[^`]+?(?<!`)\1(?!`)")
_URL_RE = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# A log line starts with a timestamp: ISO 8601 date and time, a bare clock time, syslog
# ("Nov  2 09:45:12") or glog ("E1102 09:45:12.345"), optionally after a bracket.
_LOG_LINE_RE = re.compile(
    r"[ \t]*\[?(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\d{2}:\d{2}:\d{2}|"
    r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|[EWIDF]\d{4} \d{2}:\d{2}:\d{2})"
)
_JSON_START_RE = re.compile(r"[ \t]*[{\[]")
_MAX_JSON_LINES = 400


def _json_block_end(lines: list[str], start: int) -> tuple[bool, int]:
    """Whether ``lines[start]`` opens a JSON object or array (unfenced) that closes on a
    later or the same line and parses, and the index after the last line read. Brackets
    are counted outside strings; at most ``_MAX_JSON_LINES`` lines are read."""
    depth = 0
    in_string = escaped = False
    for end in range(start, min(len(lines), start + _MAX_JSON_LINES)):
        for ch in lines[end]:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
                if depth == 0:
                    break
        if depth <= 0:
            try:
                json.loads("\n".join(lines[start:end + 1]))
            except ValueError:
                return False, end + 1
            return True, end + 1
    return False, min(len(lines), start + _MAX_JSON_LINES)


def prose(text: str) -> str:
    """The prose of a Markdown-ish reply: fenced code blocks (```` ``` ```` or ``~~~``,
    CommonMark 0.31 section 4.5, an unclosed fence runs to the end), indented code blocks
    (four spaces or a tab after a blank line or another code line, section 4.4), inline
    code spans, URLs and e-mail addresses removed; so are unfenced JSON values that start a
    line and parse (RFC 8259) and log lines (a line starting with a timestamp). What a
    language identifier should read.
    """
    kept: list[str] = []
    fence: str | None = None
    previous_blank = True
    in_indented = False
    lines = text.splitlines()
    skip_to = 0
    # Lines already read by a JSON attempt that failed are not tried again: linear time.
    scanned_to = 0
    for index, line in enumerate(lines):
        if index < skip_to:
            continue
        if fence is None and index >= scanned_to and _JSON_START_RE.match(line):
            is_json, scanned_to = _json_block_end(lines, index)
            if is_json:
                skip_to = scanned_to
                continue
        if fence is None and _LOG_LINE_RE.match(line):
            continue
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence = None
            continue
        opened = _FENCE_OPEN_RE.match(line)
        if opened is not None:
            fence = opened.group(1)
            in_indented = False
            continue
        blank = not line.strip()
        if not blank and _INDENTED_RE.match(line) and (previous_blank or in_indented):
            in_indented = True
            continue
        if not blank:
            in_indented = False
        previous_blank = blank
        kept.append(line)
    out = "\n".join(kept)
    if "`" in out:
        out = _INLINE_CODE_RE.sub(" ", out)
    if "://" in out or "www." in out.lower():
        out = _URL_RE.sub(" ", out)
    if "@" in out:
        out = _EMAIL_RE.sub(" ", out)
    return out


# Cyrillic and Greek letters that look like Latin ones, mapped to the Latin letter: read a
# word spelt with them (`pаypal`) as the Latin word it imitates. Shared by the checks that
# match Latin words (injection, keywords).
LATIN_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x",
})
