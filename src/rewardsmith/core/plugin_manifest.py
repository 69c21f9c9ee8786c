"""What rewardsmith's own plugins register, by entry-point name, so that a host can list
them without importing them (issue 13: importing every built-in plugin cost a reward
Lambda ~0.1 s of cold start for a pack that uses one or two of them).

``core.plugins.make_plugin_host`` registers a :class:`StandIn` with pluggy in place of
each built-in entry point listed here. Its hooks register the listed names as
:class:`LazyRegistered` entries; the module of a registered class is imported the first
time its entry is read (``Registered.value``), e.g. when a pack names that component
type, and the class passes the same ``register`` checks as at load. So a pack imports the
modules of the components it uses, not its plugin's others (the plugin packages'
``__init__`` import their modules only in their hooks). Names are known up front, so
``rewardsmith plugins``, duplicate detection (``core.plugin_duplicates``) and "unknown
component type ... did you mean" behave as with every plugin imported.

Only entry points of the ``rewardsmith`` distribution are read from here; third-party
plugins are imported at load as before. ``packs`` is not listed: its names are the TOML
files found at registration, and importing it costs nothing.
``tests/core/test_plugin_manifest.py`` holds this table equal to what each plugin's hooks
register; a class whose name differs from its entry fails by name when imported.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from importlib import metadata
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from rewardsmith.core.component import Component
from rewardsmith.core.errors import PluginError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.judging import JudgeBackend

BUILT_IN_DISTRIBUTION = "rewardsmith"
# The host's registries: kind, the class a registration subclasses, the method naming it.
KINDS: Final = (("components", Component, "type_name"),
                ("judge_backends", JudgeBackend, "backend_name"),
                ("rubric_packs", None, ""), ("metric_functions", None, ""))
# entry-point name -> host registry ("components", "judge_backends") -> name -> where the
# registered class is ("module:attribute"), in the order the plugin registers them.
_C, _J, _B = "rewardsmith.plugins.checks.", "rewardsmith.plugins.judges.", \
    "rewardsmith.plugins.backends."
BUILT_IN_PLUGINS: Final = MappingProxyType({
    "bedrock": {"judge_backends": {"bedrock": f"{_B}bedrock:BedrockBackend"}},
    "checks": {"components": {
        "json-valid": f"{_C}json_checks:JsonValid",
        "json-schema": f"{_C}json_checks:JsonSchema",
        "required-fields": f"{_C}json_checks:RequiredFields",
        "length": f"{_C}length:Length",
        "language-match": f"{_C}language:LanguageMatch",
        "regex": f"{_C}text_patterns:Regex",
        "keywords": f"{_C}text_patterns:Keywords",
        "reference-match": f"{_C}reference_match:ReferenceMatch",
        "repetition": f"{_C}repetition:Repetition",
        "unicode-hygiene": f"{_C}unicode_hygiene:UnicodeHygiene",
        "pii": f"{_C}pii:Pii",
        "tool-call-valid": f"{_C}tool_calls:ToolCallValid",
        "grounding": f"{_C}grounding:Grounding",
        "injection": f"{_C}injection:Injection",
        "tool-efficiency": f"{_C}agent:ToolEfficiency",
        "premature-answer": f"{_C}agent:PrematureAnswer",
        "turn-budget": f"{_C}agent:TurnBudget",
        "task-success": f"{_C}agent:TaskSuccess",
        "tool-claims": f"{_C}agent:ToolClaims",
    }},
    "judges": {"components": {
        "rubric-judge": f"{_J}rubric_judge:RubricJudge",
        "pairwise-judge": f"{_J}pairwise_judge:PairwiseJudge",
        "cascade-judge": f"{_J}cascade:CascadeJudge",
        "jury-judge": f"{_J}jury:JuryJudge",
        "listwise-judge": f"{_J}listwise:ListwiseJudge",
    }},
    "metrics": {"components": {
        "product-metric": "rewardsmith.plugins.metrics.component:ProductMetric"}},
    "openai": {"judge_backends": {"openai": f"{_B}openai:OpenAIBackend"}},
})


class _Plugin(NamedTuple):
    """The ``PluginInfo`` shape that registration and its error messages read."""

    name: str
    distribution: str


class LazyRegistered:
    """Marker passed to ``register`` by a :class:`StandIn`: ``core.plugins`` stores
    ``entry(plugin, distribution)`` under ``name``."""

    __slots__ = ("kind", "name", "stand_in")

    def __init__(self, stand_in: StandIn, kind: str, name: str) -> None:
        self.stand_in, self.kind, self.name = stand_in, kind, name

    def __repr__(self) -> str:
        return f"<{self.kind[:-1]} {self.name!r}, not imported yet>"

    def entry(self, plugin: str, distribution: str) -> LazyEntry:
        return LazyEntry(self, plugin, distribution)


class LazyEntry(NamedTuple):
    """A ``core.plugins.Registered`` whose ``value`` imports the plugin on first read."""

    marker: LazyRegistered
    plugin: str
    distribution: str

    @property
    def value(self) -> Any:
        return self.marker.stand_in.value(self.marker.kind, self.marker.name)


class StandIn:
    """The pluggy plugin registered for a built-in entry point that is not imported yet."""

    def __init__(self, entry_point: metadata.EntryPoint, register: Callable[..., None],
                 blame: Callable[[Any, str], ContextManager[None]]) -> None:
        self.entry_point, self._register, self._blame = entry_point, register, blame
        self.names = BUILT_IN_PLUGINS[entry_point.name]
        self._values: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _announce(self, kind: str, register: Callable[..., None]) -> None:
        for name in self.names.get(kind, ()):
            register(LazyRegistered(self, kind, name))

    @hookimpl
    def register_components(self, register: Callable[..., None]) -> None:
        self._announce("components", register)

    @hookimpl
    def register_judge_backends(self, register: Callable[..., None]) -> None:
        self._announce("judge_backends", register)

    def value(self, kind: str, name: str) -> Any:
        """The class the plugin registers as ``name`` of ``kind``: only its module is
        imported (once), and it passes ``core.plugins``' own ``register`` checks."""
        with self._lock:
            if (kind, name) not in self._values:
                self._values[kind, name] = self._import(kind, name)
        return self._values[kind, name]

    def _import(self, kind: str, name: str) -> Any:
        ep, location = self.entry_point, self.names[kind][name]
        info = _Plugin(ep.name, BUILT_IN_DISTRIBUTION)
        module_name, _, attribute = location.partition(":")
        with self._blame(info, f"to load ({location})"):
            found = getattr(importlib.import_module(module_name), attribute)
        base, naming = next((b, n) for k, b, n in KINDS if k == kind)
        registry: dict[str, Any] = {}
        self._register(registry, kind, info, base, naming, found, skipped=[])
        if list(registry) != [name]:
            raise PluginError(f"plugin {ep.name!r} from distribution "
                              f"{BUILT_IN_DISTRIBUTION!r}: {location} is named "
                              f"{list(registry)}, but core/plugin_manifest.py lists it as "
                              f"{kind[:-1].replace('_', ' ')} {name!r}")
        return registry[name].value


def stand_in(entry_point: metadata.EntryPoint, distribution: str, register: Callable[..., None],
             blame: Callable[[Any, str], ContextManager[None]]) -> StandIn | None:
    """A stand-in for a built-in entry point of the manifest, else None (import it).
    ``register`` and ``blame`` are ``core.plugins``' (passed in: core has no import
    cycles)."""
    if distribution == BUILT_IN_DISTRIBUTION and entry_point.name in BUILT_IN_PLUGINS:
        return StandIn(entry_point, register, blame)
    return None
