"""What rewardsmith's own plugins register, by entry-point name, so that a host can list
them without importing them (issue 13: importing every built-in plugin cost a reward
Lambda ~0.1 s of cold start for a pack that uses one or two of them).

``core.plugins.make_plugin_host`` registers a :class:`StandIn` with pluggy in place of
each built-in entry point listed here. Its hooks register the listed names as
:class:`LazyRegistered` entries; the plugin's module is imported the first time one of
them is read (``Registered.value``), e.g. when a pack names one of its component types,
and its own hooks then run as they would have at load, through the same checks. Names are
known up front, so ``rewardsmith plugins``, duplicate detection
(``core.plugin_duplicates``) and "unknown component type ... did you mean" behave as with
every plugin imported.

Only entry points of the ``rewardsmith`` distribution are read from here; third-party
plugins are imported at load as before. ``packs`` is not listed: its names are the TOML
files found at registration, and importing it costs nothing.
``tests/core/test_plugin_manifest.py`` holds this table equal to what each plugin
registers; a plugin that registers otherwise fails by name when imported.
"""

from __future__ import annotations

import functools
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
# entry-point name -> host registry ("components", "judge_backends", ...) -> names, in the
# order the plugin registers them.
BUILT_IN_PLUGINS: Final = MappingProxyType({
    "bedrock": {"judge_backends": ("bedrock",)},
    "checks": {"components": (
        "json-valid", "json-schema", "required-fields", "length", "language-match", "regex",
        "keywords", "reference-match", "repetition", "unicode-hygiene", "pii",
        "tool-call-valid", "grounding", "injection", "tool-efficiency", "premature-answer",
        "turn-budget", "task-success", "tool-claims",
    )},
    "judges": {"components": (
        "rubric-judge", "pairwise-judge", "cascade-judge", "jury-judge", "listwise-judge",
    )},
    "metrics": {"components": ("product-metric",)},
    "openai": {"judge_backends": ("openai",)},
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
        self._values: dict[str, dict[str, Any]] | None = None
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
        """What the plugin registers as ``name`` of ``kind``, importing it (once)."""
        with self._lock:
            if self._values is None:
                self._values = self._import()
        found = self._values.get(kind, {})
        if name not in found:
            raise PluginError(f"plugin {self.entry_point.name!r} from distribution "
                              f"{BUILT_IN_DISTRIBUTION!r} does not register "
                              f"{kind[:-1].replace('_', ' ')} {name!r}, which "
                              "core/plugin_manifest.py lists for it")
        return found[name]

    def _import(self) -> dict[str, dict[str, Any]]:
        """Import the module and run its hooks through ``core.plugins``' own ``register``
        and ``blame``; what it registers must be exactly the manifest's names."""
        ep = self.entry_point
        info = _Plugin(ep.name, BUILT_IN_DISTRIBUTION)
        with self._blame(info, f"to load ({ep.value})"):
            module = ep.load()
        values: dict[str, dict[str, Any]] = {}
        for kind, base, naming in KINDS:
            hook = getattr(module, f"register_{kind}", None)
            registry: dict[str, Any] = {}
            if hook is not None:
                with self._blame(info, f"in register_{kind}"):
                    hook(register=functools.partial(self._register, registry, kind, info,
                                                    base, naming, skipped=[]))
            if tuple(registry) != tuple(self.names.get(kind, ())):
                raise PluginError(f"plugin {ep.name!r} from distribution "
                                  f"{BUILT_IN_DISTRIBUTION!r} registers {kind} "
                                  f"{sorted(registry)}, but core/plugin_manifest.py lists "
                                  f"{sorted(self.names.get(kind, ()))}")
            values[kind] = {name: entry.value for name, entry in registry.items()}
        return values


def stand_in(entry_point: metadata.EntryPoint, distribution: str, register: Callable[..., None],
             blame: Callable[[Any, str], ContextManager[None]]) -> StandIn | None:
    """A stand-in for a built-in entry point of the manifest, else None (import it).
    ``register`` and ``blame`` are ``core.plugins``' (passed in: core has no import
    cycles)."""
    if distribution == BUILT_IN_DISTRIBUTION and entry_point.name in BUILT_IN_PLUGINS:
        return StandIn(entry_point, register, blame)
    return None
