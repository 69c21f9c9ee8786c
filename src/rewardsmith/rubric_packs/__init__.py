"""Built-in rubric packs: TOML files beside this module, registered by file name."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any

from rewardsmith.core.hookspecs import hookimpl


@hookimpl
def register_rubric_packs(register: Callable[[str, Any], None]) -> None:
    for entry in sorted(files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            register(entry.name.removesuffix(".toml"), entry)
