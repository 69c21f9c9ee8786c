"""Closest valid alternatives for a misspelt name, for error messages (issue 15).

``difflib.get_close_matches`` (the standard library's Ratcliff/Obershelp ratio,
https://docs.python.org/3/library/difflib.html#difflib.get_close_matches), compared
case-insensitively, so ``Lenght`` finds ``length`` and ``judges`` finds ``judge``.

``difflib`` is imported by the first suggestion: error messages only, never a cold start
(issue 13).
"""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.7) -> list[str]:
    """Up to ``n`` of ``choices`` closest to ``word`` (best first), or none close enough."""
    import difflib

    by_folded: dict[str, str] = {}
    for choice in choices:
        by_folded.setdefault(choice.casefold(), choice)
    found = difflib.get_close_matches(word.casefold(), list(by_folded), n=n, cutoff=cutoff)
    return [by_folded[f] for f in found]


def did_you_mean(word: str, choices: Iterable[str], *, fmt: str = "{!r}") -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close.
    ``fmt`` formats the suggestion (``"[{}]"`` for a TOML table)."""
    found = closest(word, choices)
    return f" (did you mean {fmt.format(found[0])}?)" if found else ""
