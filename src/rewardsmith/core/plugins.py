"""Plugin loading: a factory that builds a fresh, typed host per call (no import-time
loading, no global state), attributes every registration to its distribution, and fails
loudly and by name on broken or duplicate plugins.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pluggy

from rewardsmith.core import hookspecs
from rewardsmith.core.component import Component
from rewardsmith.core.errors import PluginError
from rewardsmith.core.judging import JudgeBackend

ENTRY_POINT_GROUP = "rewardsmith"
ALLOWLIST_ENV = "REWARDSMITH_PLUGINS"
LOCAL_DISTRIBUTION = "<local>"


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str | None
    components: list[str] = field(default_factory=list)
    judge_backends: list[str] = field(default_factory=list)
    rubric_packs: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "components": self.components,
            "judge_backends": self.judge_backends,
            "rubric_packs": self.rubric_packs,
            "commands": self.commands,
        }


@dataclass(frozen=True)
class Registered:
    """Something a plugin registered, with where it came from."""

    value: Any
    plugin: str
    distribution: str


class PluginHost:
    """A pluggy manager plus the registries its hooks filled."""

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
        self.pm = pm
        self.infos = infos
        self.components: dict[str, Registered] = {}
        self.judge_backends: dict[str, Registered] = {}
        self.rubric_packs: dict[str, Registered] = {}
        self._collect()

    # -- registration -----------------------------------------------------------------
    def _impls(self, hook_name: str) -> Iterable[tuple[str, Callable[..., Any]]]:
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            yield impl.plugin_name, impl.function

    def _call_each(self, hook_name: str, make_callback: Callable[[str], Any], arg: str) -> None:
        for plugin_name, function in self._impls(hook_name):
            try:
                function(**{arg: make_callback(plugin_name)})
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"plugin {plugin_name!r} from distribution "
                    f"{self.infos[plugin_name].distribution!r} failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc

    def _add(self, table: dict[str, Registered], kind: str, key: str, value: Any, plugin: str):
        info = self.infos[plugin]
        if key in table:
            first = table[key]
            raise PluginError(
                f"{kind} {key!r} is registered twice: by plugin {first.plugin!r} "
                f"(distribution {first.distribution!r}) and by plugin {plugin!r} "
                f"(distribution {info.distribution!r}); uninstall one or restrict loading "
                f"with {ALLOWLIST_ENV}"
            )
        table[key] = Registered(value, plugin, info.distribution)

    def _collect(self) -> None:
        def component_register(plugin: str) -> Callable[[type[Any]], None]:
            def register(cls: type[Any]) -> None:
                if not (isinstance(cls, type) and issubclass(cls, Component)):
                    raise PluginError(
                        f"plugin {plugin!r} ({self.infos[plugin].distribution}) registered "
                        f"{cls!r}, which is not a rewardsmith Component subclass"
                    )
                name = cls.type_name()
                self._add(self.components, "component type", name, cls, plugin)
                self.infos[plugin].components.append(name)

            return register

        def backend_register(plugin: str) -> Callable[[type[Any]], None]:
            def register(cls: type[Any]) -> None:
                if not (isinstance(cls, type) and issubclass(cls, JudgeBackend)):
                    raise PluginError(
                        f"plugin {plugin!r} ({self.infos[plugin].distribution}) registered "
                        f"{cls!r}, which is not a rewardsmith JudgeBackend subclass"
                    )
                name = cls.backend_name()
                self._add(self.judge_backends, "judge backend", name, cls, plugin)
                self.infos[plugin].judge_backends.append(name)

            return register

        def pack_register(plugin: str) -> Callable[[str, Any], None]:
            def register(name: str, source: Path | Traversable | str) -> None:
                path = Path(source) if isinstance(source, str) else source
                self._add(self.rubric_packs, "rubric pack", name, path, plugin)
                self.infos[plugin].rubric_packs.append(name)

            return register

        self._call_each("register_components", component_register, "register")
        self._call_each("register_judge_backends", backend_register, "register")
        self._call_each("register_rubric_packs", pack_register, "register")

    def add_commands(self, cli: Any) -> None:
        """Let plugins add subcommands, recording which plugin added which."""
        def command_paths(group: Any, prefix: str = "") -> set[str]:
            paths: set[str] = set()
            for name, command in getattr(group, "commands", {}).items():
                paths.add(prefix + name)
                paths |= command_paths(command, f"{prefix}{name} ")
            return paths

        for plugin_name, function in self._impls("register_commands"):
            before = command_paths(cli)
            try:
                function(cli=cli)
            except Exception as exc:
                raise PluginError(
                    f"plugin {plugin_name!r} from distribution "
                    f"{self.infos[plugin_name].distribution!r} failed in register_commands: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            added = sorted(command_paths(cli) - before)
            self.infos[plugin_name].commands.extend(added)

    # -- lookups ------------------------------------------------------------------------
    def component_class(self, type_name: str) -> type[Component[Any]]:
        try:
            cls: type[Component[Any]] = self.components[type_name].value
        except KeyError:
            raise PluginError(
                f"unknown component type {type_name!r}; installed: "
                f"{', '.join(sorted(self.components)) or 'none'}"
            ) from None
        return cls

    def backend_class(self, name: str) -> type[JudgeBackend]:
        try:
            cls: type[JudgeBackend] = self.judge_backends[name].value
        except KeyError:
            raise PluginError(
                f"unknown judge backend {name!r}; installed: "
                f"{', '.join(sorted(self.judge_backends)) or 'none'}"
            ) from None
        return cls

    def pack_source(self, name: str) -> Path | Traversable | None:
        entry = self.rubric_packs.get(name)
        return entry.value if entry else None


def plugin_allowlist(allow: Sequence[str] | None = None) -> set[str] | None:
    """The plugin names to load: ``allow`` if given, else ``REWARDSMITH_PLUGINS``; None = all."""
    if allow is not None:
        return set(allow)
    raw = os.environ.get(ALLOWLIST_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points() -> list[metadata.EntryPoint]:
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    # One distribution can be visible twice (e.g. an editable install plus a wheel).
    unique: dict[tuple[str, str], metadata.EntryPoint] = {}
    for ep in eps:
        unique.setdefault((ep.name, ep.value), ep)
    return sorted(unique.values(), key=lambda ep: ep.name)


def make_plugin_host(
    *,
    load_entry_points: bool = True,
    allow: Sequence[str] | None = None,
    plugins: Sequence[tuple[str, object]] = (),
) -> PluginHost:
    """Build a plugin host.

    ``allow`` (or ``REWARDSMITH_PLUGINS``, comma-separated) restricts which entry points
    load, by entry-point name or distribution name. ``plugins`` adds in-process plugins as
    ``(name, module_or_object)`` pairs, e.g. from tests.
    """
    pm = pluggy.PluginManager("rewardsmith")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    allowed = plugin_allowlist(allow)

    if load_entry_points:
        for ep in _entry_points():
            dist_name = ep.dist.name if ep.dist is not None else "<unknown>"
            if allowed is not None and ep.name not in allowed and dist_name not in allowed:
                pm.set_blocked(ep.name)
                continue
            if ep.name in infos:
                raise PluginError(
                    f"two plugins are named {ep.name!r}: distributions "
                    f"{infos[ep.name].distribution!r} and {dist_name!r}"
                )
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} from distribution {dist_name!r} failed to load "
                    f"({ep.value}): {type(exc).__name__}: {exc}"
                ) from exc
            pm.register(plugin, name=ep.name)
            version = ep.dist.version if ep.dist is not None else None
            infos[ep.name] = PluginInfo(ep.name, dist_name, version)

    for name, plugin in plugins:
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name, LOCAL_DISTRIBUTION, None)

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_name = pm.get_name(exc.plugin) or "?"
        dist = infos.get(plugin_name, PluginInfo(plugin_name, "<unknown>", None)).distribution
        raise PluginError(
            f"plugin {plugin_name!r} from distribution {dist!r} has an invalid hook: {exc}"
        ) from exc
    return PluginHost(pm, infos)
