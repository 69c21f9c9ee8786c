"""Built-in deterministic checks: cheap, synchronous, one small module per family.

Registered through rewardsmith's own entry point (``checks``), exactly as a third-party
plugin would register its components.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from rewardsmith.core.hookspecs import hookimpl

__all__ = ["CHECKS", "register_components"]

# Registration order, as (module, classes). Imported only by the hook or ``CHECKS``: a pack
# using one check imports that check's module (core/plugin_manifest.py, issue 13).
_MODULES = (
    ("json_checks", ("JsonValid", "JsonSchema", "RequiredFields")),
    ("length", ("Length",)),
    ("language", ("LanguageMatch",)),
    ("text_patterns", ("Regex", "Keywords")),
    ("reference_match", ("ReferenceMatch",)),
    ("repetition", ("Repetition",)),
    ("unicode_hygiene", ("UnicodeHygiene",)),
    ("pii", ("Pii",)),
    ("tool_calls", ("ToolCallValid",)),
    ("grounding", ("Grounding",)),
    ("injection", ("Injection",)),
    ("agent", ("ToolEfficiency", "PrematureAnswer", "TurnBudget", "TaskSuccess",
               "ToolClaims")),
)


def _checks() -> tuple[type[Any], ...]:
    return tuple(getattr(import_module(f"{__name__}.{module}"), name)
                 for module, names in _MODULES for name in names)


def __getattr__(name: str) -> Any:
    if name == "CHECKS":
        return _checks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_components(register: Callable[[type[Any]], None]) -> None:
    for check in _checks():
        register(check)
