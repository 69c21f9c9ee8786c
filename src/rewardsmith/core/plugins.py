"""Plugin loading: a factory builds a fresh host per call (no import-time loading, no
global state); pluggy loads entry points and keeps their distributions; every
registration is attributed to its plugin; broken or duplicate plugins fail by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any, NamedTuple

import pluggy

from rewardsmith.core import hookspecs, settings
from rewardsmith.core.component import Component
from rewardsmith.core.errors import PluginError
from rewardsmith.core.judging import JudgeBackend

ENTRY_POINT_GROUP = "rewardsmith"
# hook -> (registry attribute, what it holds, required base class and its naming method)
_HOOKS: dict[str, tuple[str, str, type | None, str]] = {
    "register_components": ("components", "component type", Component, "type_name"),
    "register_judge_backends": ("judge_backends", "judge backend", JudgeBackend, "backend_name"),
    "register_rubric_packs": ("rubric_packs", "rubric pack", None, ""),
    "register_metric_functions": ("metric_functions", "metric function", None, ""),
}


@dataclass
class PluginInfo:
    """One loaded plugin and the names it provides (``rewardsmith plugins`` lists these)."""

    name: str
    distribution: str
    version: str | None
    components: list[str] = field(default_factory=list)
    judge_backends: list[str] = field(default_factory=list)
    rubric_packs: list[str] = field(default_factory=list)
    metric_functions: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Registered(NamedTuple):
    """Something a plugin registered, with where it came from."""

    value: Any
    plugin: str
    distribution: str


class PluginHost:
    """A pluggy manager plus the registries its hooks filled, each ``name -> Registered``."""

    components: dict[str, Registered]
    judge_backends: dict[str, Registered]
    rubric_packs: dict[str, Registered]
    metric_functions: dict[str, Registered]

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
        self.pm, self.infos = pm, infos
        for hook, (table, *_) in _HOOKS.items():
            setattr(self, table, {})
            for impl in getattr(pm.hook, hook).get_hookimpls():
                self._call(impl, register=self._registrar(impl.plugin_name, hook))

    def _call(self, impl: Any, **kwargs: Any) -> None:
        try:
            impl.function(**kwargs)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {impl.plugin_name!r} from distribution "
                              f"{self.infos[impl.plugin_name].distribution!r} failed in "
                              f"{impl.function.__name__}: {type(exc).__name__}: {exc}") from exc

    def _registrar(self, plugin: str, hook: str) -> Callable[..., None]:
        table, what, base, naming = _HOOKS[hook]
        info, registry = self.infos[plugin], getattr(self, table)

        def register(*args: Any) -> None:
            if base is None:
                name, value = args
            elif isinstance(value := args[0], type) and issubclass(value, base):
                name = getattr(value, naming)()
            else:
                raise PluginError(f"plugin {plugin!r} ({info.distribution}) registered "
                                  f"{value!r}, which is not a rewardsmith {base.__name__} subclass")
            if first := registry.get(name):
                raise PluginError(f"{what} {name!r} is registered twice: by plugin "
                                  f"{first.plugin!r} (distribution {first.distribution!r}) and "
                                  f"by plugin {plugin!r} (distribution {info.distribution!r}); "
                                  "uninstall one or restrict loading with REWARDSMITH_PLUGINS")
            registry[name] = Registered(value, plugin, info.distribution)
            getattr(info, table).append(name)

        return register

    def add_commands(self, cli: Any) -> None:
        """Let plugins add subcommands to the click group ``cli``, recording who added what."""
        def paths(group: Any, prefix: str = "") -> set[str]:
            return {path for name, sub in getattr(group, "commands", {}).items()
                    for path in (prefix + name, *paths(sub, f"{prefix}{name} "))}

        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = paths(cli)
            self._call(impl, cli=cli)
            self.infos[impl.plugin_name].commands.extend(sorted(paths(cli) - before))

    def component_class(self, type_name: str) -> type[Component[Any]]:
        return _lookup(self.components, "component type", type_name)  # type: ignore[no-any-return]

    def backend_class(self, name: str) -> type[JudgeBackend]:
        return _lookup(self.judge_backends, "judge backend", name)  # type: ignore[no-any-return]


def _lookup(table: dict[str, Registered], what: str, name: str) -> Any:
    if name not in table:  # PluginError listing what is installed
        raise PluginError(f"unknown {what} {name!r}; installed: "
                          f"{', '.join(sorted(table)) or 'none'}")
    return table[name].value


def plugin_allowlist(allow: Sequence[str] | None = None) -> set[str] | None:
    """The plugin names to load: ``allow`` if given, else ``REWARDSMITH_PLUGINS``; None = all."""
    names = list(allow) if allow is not None else settings.get_list("REWARDSMITH_PLUGINS")
    return None if names is None else set(names)


def make_plugin_host(*, load_entry_points: bool = True, allow: Sequence[str] | None = None,
                     plugins: Sequence[tuple[str, object]] = ()) -> PluginHost:
    """A new host. ``allow`` (default ``REWARDSMITH_PLUGINS``) keeps only the entry points
    whose name or distribution it lists; ``plugins`` adds in-process ``(name, module)``
    pairs (tests). PluginError names the plugin and distribution that failed.
    """
    pm = pluggy.PluginManager("rewardsmith")
    pm.add_hookspecs(hookspecs)
    allowed = plugin_allowlist(allow)
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP) if load_entry_points else ()
    for ep in sorted(eps, key=lambda ep: ep.name):
        dist = ep.dist.name if ep.dist is not None else "<unknown>"
        if allowed is not None and not {ep.name, dist} & allowed:
            pm.set_blocked(ep.name)
            continue
        try:  # one name at a time, so a failure names its entry point
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=ep.name)
        except Exception as exc:
            raise PluginError(f"plugin {ep.name!r} from distribution {dist!r} failed to load "
                              f"({ep.value}): {type(exc).__name__}: {exc}") from exc
    infos = {str(pm.get_name(p)): PluginInfo(str(pm.get_name(p)), d.metadata["name"], d.version)
             for p, d in pm.list_plugin_distinfo()}
    for name, plugin in plugins:  # in-process plugins are chosen explicitly: never blocked
        if pm.is_blocked(name):
            pm.unblock(name)
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name, "<local>", None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        info = infos.get(str(pm.get_name(exc.plugin)))
        raise PluginError(f"plugin {pm.get_name(exc.plugin)!r} from distribution "
                          f"{info.distribution if info else '<unknown>'!r} has an invalid "
                          f"hook: {exc}") from exc
    return PluginHost(pm, infos)
