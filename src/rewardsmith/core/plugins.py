"""Plugin loading: a factory builds a fresh host per call (no import-time loading, no global
state); pluggy loads the entry points (built-ins on first use: plugin_manifest); every
registration is attributed to its plugin; broken or duplicate plugins fail by name."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from importlib import metadata
from typing import Any, NamedTuple

import pluggy

from rewardsmith.core import hookspecs, settings, workers
from rewardsmith.core.errors import PluginError
from rewardsmith.core.plugin_duplicates import settle
from rewardsmith.core.plugin_manifest import KINDS, LazyRegistered, stand_in

ENTRY_POINT_GROUP = "rewardsmith"


class PluginInfo(NamedTuple):
    """A loaded plugin (``distribution`` is ``"<local>"`` for an in-process one)."""

    name: str
    distribution: str
    version: str | None


class Registered(NamedTuple):
    """Something a plugin registered, with where it came from."""

    value: Any
    plugin: str
    distribution: str


class PluginHost:
    """A pluggy manager and, per kind, what plugins registered: ``name ->
    Registered`` (``commands``: ``"group sub"`` paths, filled as the CLI is built)."""

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
        self.pm, self.infos, self.skipped = pm, infos, []  # skipped: plugin_duplicates
        self.components, self.judge_backends, self.rubric_packs, self.metric_functions = (
            self._collect(kind, base, naming) for kind, base, naming in KINDS)
        self.commands: dict[str, Registered] = {}

    def _collect(self, kind: str, base: type | None = None,
                 naming: str = "") -> dict[str, Registered]:
        registry: dict[str, Registered] = {}
        for impl in getattr(self.pm.hook, f"register_{kind}").get_hookimpls():
            info = self.infos[impl.plugin_name]  # each plugin gets a register() of its own
            with blame(info, f"in register_{kind}"):
                impl.function(register=partial(_register, registry, kind, info, base, naming,
                                               skipped=self.skipped))
        return registry


def _register(registry: dict[str, Registered], kind: str, info: PluginInfo, base: type | None,
              naming: str, *args: Any, skipped: list[str]) -> None:
    """``register(cls)`` for a subclass of ``base`` (named by its ``naming()`` method), else
    ``register(name, value)``; a name registered twice is settled by ``plugin_duplicates``."""
    by, lazy = f"plugin {info.name!r} ({info.distribution})", args[0]
    if not isinstance(lazy, LazyRegistered):  # else a built-in not imported yet
        if base is not None and not (isinstance(lazy, type) and issubclass(lazy, base)):
            raise PluginError(f"{by} registered {args[0]!r}, which is not a rewardsmith "
                              f"{base.__name__} subclass")
        lazy, args = None, ((getattr(lazy, naming)(), lazy) if base is not None else args)
    name, value = (lazy.name, lazy) if lazy else args
    if (first := registry.get(name)) and not settle(kind, name, first, info, skipped):
        return
    registry[name] = lazy.entry(info.name, info.distribution) if lazy else \
        Registered(value, info.name, info.distribution)


@contextmanager
def blame(info: PluginInfo, doing: str) -> Iterator[None]:
    """Re-raise what a plugin's code raised as a PluginError naming it and its distribution."""
    try:
        yield
    except BaseException as exc:  # SystemExit too (issue 10), but never the user's Ctrl-C
        if isinstance(exc, PluginError) or workers.users_interrupt(exc):
            raise
        raise PluginError(f"plugin {info.name!r} from distribution {info.distribution!r} "
                          f"failed {doing}: {type(exc).__name__}: {exc}") from exc


def make_plugin_host(*, load_entry_points: bool = True, allow: Sequence[str] | None = None,
                     plugins: Sequence[tuple[str, object]] = ()) -> PluginHost:
    """A new host. ``allow`` (default ``REWARDSMITH_PLUGINS``) keeps only the entry points
    whose name or distribution it lists; ``plugins`` adds in-process ``(name, module)``
    pairs (tests). PluginError names the plugin and distribution that failed."""
    pm = pluggy.PluginManager("rewardsmith")
    pm.add_hookspecs(hookspecs)
    allowed = settings.get_list("REWARDSMITH_PLUGINS") if allow is None else allow
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP) if load_entry_points else ()
    infos: dict[str, PluginInfo] = {}
    mds: dict[int, Any] = {}  # a dist's eps share it; .metadata re-parses METADATA (issue 13)
    for ep in sorted(eps, key=lambda ep: ep.name):  # by name: a stable "first" for duplicates
        md: Any = (mds.get(id(ep.dist)) or mds.setdefault(id(ep.dist), ep.dist.metadata)
                   ) if ep.dist else {"Name": "<unknown>"}  # parsed once per distribution
        if allowed is not None and ep.name not in allowed and md["Name"] not in allowed:
            pm.set_blocked(ep.name)
        elif not (pm.has_plugin(ep.name) or pm.is_blocked(ep.name)):  # as pluggy 1.7 loads
            with blame(info := PluginInfo(ep.name, md["Name"], None), f"to load ({ep.value})"):
                pm.register(stand_in(ep, md["Name"], _register, blame) or ep.load(), name=ep.name)
                pm.check_pending()  # one at a time: a failure (a misspelt hookimpl) names it
            infos[ep.name] = info._replace(version=md.get("Version"))
    for name, plugin in plugins:  # chosen explicitly, so never blocked
        pm.unblock(name)
        infos[name] = PluginInfo(name, "<local>", None)
        with blame(infos[name], "to register"):
            pm.register(plugin, name=name)
            pm.check_pending()
    return PluginHost(pm, infos)
