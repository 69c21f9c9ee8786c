"""Unicode hygiene: characters a clean response has no business containing.

Categories (all on by default):
- ``control``: C0/C1 control characters except tab, newline and carriage return;
- ``private_use``: private-use code points (render as tofu or vendor glyphs);
- ``replacement``: U+FFFD, the trace of a decoding error;
- ``unassigned``: unassigned code points and lone surrogates;
- ``invisible``: zero-width and other format characters (ZWSP, word joiner, a BOM past
  the first character, soft hyphen, Hangul fillers, tag characters) — joiners inside an
  emoji sequence or between letters of scripts that spell with them (Persian, Hindi...)
  and the tag characters of a flag emoji are allowed, as is the Mongolian vowel separator
  between two Mongolian letters;
- ``bidi``: bidirectional controls (embeddings, overrides, isolates, LRM/RLM/ALM), which
  can make text display differently from what it says;
- ``mixed_script``: a homoglyph inside a word -- a word mixing letters of confusable
  scripts (Latin, Cyrillic, Greek, Armenian, Cherokee, Coptic, full-width or mathematical
  letters). Scripts are Unicode Script properties (``regex``'s ``\\p{Script=...}``). Any
  mix of two of them in one word is flagged ("paypal" spelt with a Cyrillic a), except
  Greek with Latin, where science writes Greek symbols against Latin letters (micro-mol,
  kilo-ohm, delta-H, lambda-max, TNF-alpha written as one word): there a Greek letter is
  flagged only when it renders the same as a Latin letter (UTS #39 confusables: capital
  alpha, beta, epsilon... and small omicron look exactly like A, B, E, o), or when it is a
  near look-alike (small alpha, iota, kappa, nu, rho, upsilon, gamma...) between two
  lowercase Latin letters ("paypal" with a Greek alpha), or the closest of them (alpha,
  iota, kappa, nu, rho, upsilon) at the edge of a lowercase Latin word of 4+ letters after
  it / 3+ before it ("netflix" with a Greek nu; "numax" and "TNF-alpha" glued stay clean).
  In a Greek word (three Greek letters or more), a Latin look-alike anywhere is flagged;
  between Greek symbols ("alpha-v-beta-3" glued) it is not. Han, kana and Hangul never
  count as mixing. A word spelt wholly in mathematical alphanumerics (styled text: "paypal"
  in bold) counts too; single mathematical letters do not. Words shorter than
  ``min_word_chars`` are skipped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

from pydantic import Field

from rewardsmith.core.component import Component, ComponentConfig, ComponentContext
from rewardsmith.core.results import Score
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.checks._segment import LazyPattern

Category = Literal["control", "private_use", "replacement", "unassigned", "invisible", "bidi",
                   "mixed_script"]
ALL_CATEGORIES: tuple[Category, ...] = ("control", "private_use", "replacement", "unassigned",
                                        "invisible", "bidi", "mixed_script")

_ASCII_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_WORD_RE = LazyPattern(r"[\p{L}\p{M}]+")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters (category Lo) that render as blank space: favourite padding for invisible text.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_ZWJ = "\u200d"
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner, zero-width joiner
# MONGOLIAN VOWEL SEPARATOR: Mongolian spelling writes it before a final a/e
# ("ᠵᠠᠬᠢᠶᠠᠯᠭ\u180eᠠ"); general category Cf since Unicode 6.3, but text, not padding, between
# two Mongolian letters (Unicode 16.0, section 13.5).
_MVS = "\u180e"
_MONGOLIAN_LETTERS = ("\u1820", "\u18aa")
_BLACK_FLAG = "\U0001f3f4"  # subdivision flags are U+1F3F4 followed by tag characters
_FLAG_SEQUENCE_RE = re.compile("\U0001f3f4[\U000e0020-\U000e007f]+")
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE",
                                 "COPTIC", "FULLWIDTH", "MATHEMATICAL"})
_SCRIPT_RES = [(name.upper(), LazyPattern(rf"\p{{Script={name}}}"))
               for name in ("Latin", "Cyrillic", "Greek", "Armenian", "Cherokee", "Coptic")]
# Greek letters that render like a Latin letter, from Unicode's confusables.txt (UTS #39,
# https://www.unicode.org/Public/security/latest/confusables.txt): the same glyph, flagged
# anywhere in a Latin word ...
_GREEK_TWINS = frozenset(
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5"
    "\u03a7\u03d2\u03dc\u03f9\u037f"  # capitals A B E Z H I K M N O P T Y X, Y, F, C, J
    "\u03bf\u03f2\u03f3"  # small omicron, lunate sigma, yot: o c j
)
# ... and lowercase near look-alikes that science also writes against Latin letters
# (TNF-alpha, IFN-gamma, NF-kappa-B without hyphens): flagged only between two lowercase
# Latin letters.
_GREEK_NEAR_TWINS = frozenset("αβγικνπρστυϰϱϖ")
# The closest of those (alpha, iota, kappa, nu, rho, upsilon, varrho: a i k v p u p) also
# spoof at a word's edge ("<rho>aypal", "<nu>etflix", "ban<kappa>") when the rest of the
# word is lowercase Latin, at least four letters after a leading one and three before a
# trailing one: science glues Greek to shorter Latin subscripts (<nu>max, <lambda>max,
# <alpha>syn, <beta>gal) or to capitals (TNF<alpha>, PPAR<gamma>).
_GREEK_EDGE_TWINS = frozenset("αικνρυϱ")
_MIN_LATIN_AFTER_EDGE_TWIN = 4
_MIN_LATIN_BEFORE_EDGE_TWIN = 3
# Latin letters that render like a Greek letter, for a Latin letter inside a Greek word.
_LATIN_TWINS_OF_GREEK = frozenset("ABEZHIKMNOPTXYaiknopvtuy")


@lru_cache(maxsize=8192)
def _char_category(ch: str) -> str | None:
    """The hygiene category of one non-ASCII character, or None if it is fine."""
    if ch == "\ufffd":
        return "replacement"
    if ch in _BIDI:
        return "bidi"
    if ch in _BLANK_LETTERS:
        return "invisible"
    general = unicodedata.category(ch)
    if general == "Cc":
        return "control"
    if general == "Co":
        return "private_use"
    if general in ("Cn", "Cs"):
        return "unassigned"
    if general == "Cf":
        return "invisible"
    return None


@lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    """The confusable script of a letter (upper-case name), or "" for any other letter."""
    if "\uff21" <= ch <= "\uff5a":
        return "FULLWIDTH"
    if "\U0001d400" <= ch <= "\U0001d7ff":
        return "MATHEMATICAL"
    for name, pattern in _SCRIPT_RES:
        if pattern.match(ch):
            return name
    return ""


def _spoofed_letters(word: str, scripts: list[str]) -> list[str]:
    """The letters of ``word`` that make it a homoglyph spoof (empty when it is none).

    ``scripts`` holds each letter's confusable script ("" for other letters and marks).
    """
    present = {s for s in scripts if s}
    if len(present) < 2:
        return []
    if present != {"LATIN", "GREEK"}:
        base = max(present, key=scripts.count)
        return [ch for ch, s in zip(word, scripts, strict=True) if s and s != base]
    latin_base = scripts.count("LATIN") >= scripts.count("GREEK")
    base = "LATIN" if latin_base else "GREEK"
    flagged = []
    for i, (ch, script) in enumerate(zip(word, scripts, strict=True)):
        if not script or script == base:
            continue
        inside = 0 < i < len(word) - 1 and scripts[i - 1] == base == scripts[i + 1]
        if latin_base:
            # A capital alpha in "Apple" anywhere; a small alpha in "paypal", but not in
            # "TNF<alpha>" (at the edge) or "NF<kappa>B" (between capitals).
            if ch in _GREEK_TWINS or (ch in _GREEK_NEAR_TWINS and inside
                                      and word[i - 1].islower() and word[i + 1].islower()):
                flagged.append(ch)
            elif ch in _GREEK_EDGE_TWINS and i in (0, len(word) - 1) and \
                    scripts.count("GREEK") == 1:
                rest = word[1:] if i == 0 else word[:-1]
                least = _MIN_LATIN_AFTER_EDGE_TWIN if i == 0 else _MIN_LATIN_BEFORE_EDGE_TWIN
                if len(rest) >= least and rest.islower() and \
                        all(s == "LATIN" for s in scripts if s != "GREEK"):
                    flagged.append(ch)
        elif ch in _LATIN_TWINS_OF_GREEK and scripts.count("GREEK") >= 3:
            # A Latin a in a Greek word, inside or at an edge (Athens with a Latin A); not a
            # Latin symbol after Greek ones (<delta><delta>G, <gamma><delta>T cells), nor
            # between two Greek symbols (<alpha>v<beta>3 integrin): a Greek word has three
            # Greek letters or more.
            flagged.append(ch)
    return flagged


def _styled_word(scripts: list[str]) -> bool:
    """A word spelt wholly in mathematical alphanumerics (U+1D400-1D7FF: bold, italic,
    monospace... "paypal" in bold). Mathematics writes them one letter at a time (a bold
    vector, an italic variable); a word of them is styled text that reads as a Latin word
    to a person and as other characters to a filter."""
    return bool(scripts) and all(s == "MATHEMATICAL" for s in scripts)


def _is_emoji_part(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk", "Mn", "Me") or "\U0001f3fb" <= ch <= \
        "\U0001f3ff"


def _is_joining_letter(ch: str) -> bool:
    """A letter or mark of a script whose spelling uses ZWJ/ZWNJ (Arabic, Persian, Indic)."""
    return unicodedata.category(ch)[0] in "LM" and not ch.isascii() and \
        _script(ch) not in _CONFUSABLE_SCRIPTS


def _flag_tag_positions(text: str) -> range | set[int]:
    """Indices of tag characters that belong to a subdivision-flag sequence (U+1F3F4 then
    tags). Found in one pass: walking back from every tag character to its run's start
    was quadratic on a long run of tags."""
    if _BLACK_FLAG not in text:
        return range(0)
    return {i for m in _FLAG_SEQUENCE_RE.finditer(text) for i in range(m.start() + 1, m.end())}


def _allowed_format(text: str, i: int, ch: str, flag_tags: range | set[int]) -> bool:
    """Joiners inside emoji sequences or between letters of scripts that spell with them
    (Persian ZWNJ, Indic ZWJ), and tag characters inside a subdivision-flag sequence."""
    if ch in _JOINERS:
        if not 0 < i < len(text) - 1:
            return False
        before, after = text[i - 1], text[i + 1]
        if ch == _ZWJ and _is_emoji_part(before) and _is_emoji_part(after):
            return True
        return _is_joining_letter(before) and _is_joining_letter(after)
    if ch == _MVS:
        low, high = _MONGOLIAN_LETTERS
        return 0 < i < len(text) - 1 and low <= text[i - 1] <= high and \
            low <= text[i + 1] <= high
    if "\U000e0020" <= ch <= "\U000e007f":
        return i in flag_tags
    return False


class UnicodeHygiene(Component["UnicodeHygiene.Config"]):
    """Counts offending characters per category; value 1 / (1 + violations over budget)."""

    summary = "Control, private-use, U+FFFD, zero-width/bidi and mixed-script characters."

    class Config(ComponentConfig):
        type: Literal["unicode-hygiene"] = "unicode-hygiene"
        categories: list[Category] = Field(default_factory=lambda: list(ALL_CATEGORIES))
        max_violations: int = Field(default=0, ge=0, description="Violations tolerated.")
        allow_chars: str = Field(default="", description="Characters never flagged.")
        min_word_chars: int = Field(
            default=3, ge=2, description="mixed_script: shorter words are not checked."
        )

    def __init__(self, config: Config, context: ComponentContext) -> None:
        super().__init__(config, context)
        self._categories = frozenset(config.categories)
        self._allowed = frozenset(config.allow_chars)

    def _scan(self, text: str) -> tuple[dict[str, int], list[str]]:
        counts = dict.fromkeys(self.config.categories, 0)
        examples: list[str] = []
        wanted = self._categories

        def flag(category: str, where: int, ch: str) -> None:
            counts[category] += 1
            if len(examples) < 5:
                examples.append(f"{category} U+{ord(ch):04X} at {where}")

        if "control" in wanted:
            for match in _ASCII_CONTROL_RE.finditer(text):
                if match.group() not in self._allowed:
                    flag("control", match.start(), match.group())
        if not text.isascii():
            flag_tags = _flag_tag_positions(text)
            for match in _NON_ASCII_RE.finditer(text):
                ch = match.group()
                category = _char_category(ch)
                if category is None or category not in wanted or ch in self._allowed:
                    continue
                if category == "invisible" and _allowed_format(text, match.start(), ch, flag_tags):
                    continue
                flag(category, match.start(), ch)
            if "mixed_script" in wanted:
                for match in _WORD_RE.compiled.finditer(text):
                    word = match.group()
                    if word.isascii() or len(word) < self.config.min_word_chars:
                        continue
                    scripts = [_script(ch) for ch in word]
                    if not _spoofed_letters(word, scripts) and not _styled_word(scripts):
                        continue
                    counts["mixed_script"] += 1
                    if len(examples) < 5:
                        names = "+".join(sorted({s for s in scripts if s}))
                        examples.append(f"mixed_script {word!r} ({names})")
        return counts, examples

    def score(self, sample: Sample) -> Score:
        # A byte order mark opening the text is an encoding signature (Unicode 16.0,
        # section 23.8), not hidden content; anywhere else it is a zero-width no-break space.
        counts, examples = self._scan(sample.response.removeprefix("\ufeff"))
        total = sum(counts.values())
        over = max(0, total - self.config.max_violations)
        value = 1.0 / (1.0 + over)
        rationale = "clean" if total == 0 else f"{total} violation(s): {'; '.join(examples)}"
        return Score(value, over == 0, rationale, {**counts, "total": total})
