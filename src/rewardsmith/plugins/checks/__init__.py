"""Built-in deterministic checks: cheap, synchronous, one small module per family.

Registered through rewardsmith's own entry point (``checks``), exactly as a third-party
plugin would register its components.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.plugins.checks.agent import AGENT_CHECKS
from rewardsmith.plugins.checks.grounding import Grounding
from rewardsmith.plugins.checks.injection import Injection
from rewardsmith.plugins.checks.json_checks import JsonSchema, JsonValid, RequiredFields
from rewardsmith.plugins.checks.language import LanguageMatch
from rewardsmith.plugins.checks.length import Length
from rewardsmith.plugins.checks.pii import Pii
from rewardsmith.plugins.checks.reference_match import ReferenceMatch
from rewardsmith.plugins.checks.repetition import Repetition
from rewardsmith.plugins.checks.text_patterns import Keywords, Regex
from rewardsmith.plugins.checks.tool_calls import ToolCallValid
from rewardsmith.plugins.checks.unicode_hygiene import UnicodeHygiene

CHECKS: tuple[type[Any], ...] = (
    JsonValid,
    JsonSchema,
    RequiredFields,
    Length,
    LanguageMatch,
    Regex,
    Keywords,
    ReferenceMatch,
    Repetition,
    UnicodeHygiene,
    Pii,
    ToolCallValid,
    Grounding,
    Injection,
    *AGENT_CHECKS,
)

__all__ = ["CHECKS", "register_components"]


@hookimpl
def register_components(register: Callable[[type[Any]], None]) -> None:
    for check in CHECKS:
        register(check)
