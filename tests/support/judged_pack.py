"""A small pack with a length check and one rubric judge, the judge table written as given:
what the CLI tests of judge failures, mode rejections and trust sinks all score with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_judged_pack(folder: Path, judge: dict[str, Any], *, review_weight: float | None = 3,
                      tail: str = "") -> Path:
    """``folder/judged.toml``: ``[judge]`` holds ``judge`` (values as TOML via JSON), a
    ``length`` check (max 50 words) and a ``review`` rubric judge with one criterion
    (``polite``), weighted ``review_weight`` (None: the default); ``tail`` is appended
    (e.g. a ``[tests]`` table)."""
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in judge.items())
    weight = "" if review_weight is None else f"weight = {review_weight}\n"
    path = folder / "judged.toml"
    path.write_text(f"""
[pack]
name = "judged"
version = "1.0.0"

[judge]
{table}

[[components]]
id = "length"
type = "length"
unit = "words"
max = 50

[[components]]
id = "review"
type = "rubric-judge"
{weight}criteria = [{{ id = "polite", pass_if = "The answer is polite." }}]
{tail}""", encoding="utf-8")
    return path
