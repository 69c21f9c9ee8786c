"""``type = "bullet-count"``: the response has between ``min`` and ``max`` list items.

Counts Markdown-style list items: lines starting with one of ``markers`` followed by a
space (``- step``, ``* step``, ``• step``) and, when ``numbered`` is on, ``1. step`` or
``1) step``. Lines inside fenced code blocks are not counted: a shell session full of
``- flag`` lines is not a list of steps.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator
from rewardsmith import Component, ComponentConfig, Sample, Score

_NUMBERED = re.compile(r"^\d{1,3}[.)]\s+\S")
_FENCE = re.compile(r"^(```|~~~)")


def _is_item(line: str, markers: list[str], numbered: bool) -> bool:
    for marker in markers:
        rest = line[len(marker):]
        # "- step" is an item; "---" (a rule) and "**bold**" are not.
        if line.startswith(marker) and rest[:1] in (" ", "\t") and rest.strip():
            return True
    return numbered and _NUMBERED.match(line) is not None


def count_bullets(text: str, markers: list[str], numbered: bool) -> int:
    """Number of list items in ``text`` (outside fenced code blocks)."""
    count = 0
    in_fence = False
    for line in text.splitlines():
        stripped = line.strip()
        if _FENCE.match(stripped):
            in_fence = not in_fence
        elif not in_fence and _is_item(stripped, markers, numbered):
            count += 1
    return count


class BulletCount(Component["BulletCount.Config"]):
    class Config(ComponentConfig):
        type: Literal["bullet-count"] = "bullet-count"
        min: int = Field(default=1, ge=0, description="Fewest list items that pass.")
        max: int | None = Field(default=None, ge=0, description="Most list items that pass.")
        markers: list[str] = Field(
            default_factory=lambda: ["-", "*", "•"],
            min_length=1,
            description="Strings that start an unnumbered list item (followed by a space).",
        )
        numbered: bool = Field(default=True, description="Also count '1.' and '1)' items.")

        @model_validator(mode="after")
        def _bounds(self) -> BulletCount.Config:
            if self.max is not None and self.max < self.min:
                raise ValueError(f"max ({self.max}) is smaller than min ({self.min})")
            if any(not m.strip() or m != m.strip() for m in self.markers):
                raise ValueError("markers must be non-empty and carry no surrounding spaces")
            return self

    summary = "the response has between min and max bullet or numbered list items"

    def score(self, sample: Sample) -> Score:
        cfg = self.config
        n = count_bullets(sample.response, cfg.markers, cfg.numbered)
        upper = "" if cfg.max is None else f"..{cfg.max}"
        ok = n >= cfg.min and (cfg.max is None or n <= cfg.max)
        verdict = "within" if ok else "outside"
        return Score.from_bool(ok, f"{n} list items, {verdict} {cfg.min}{upper}", bullets=n)
