from __future__ import annotations

import types
from pathlib import Path
from typing import Literal

import pytest
from tests.support import toy_plugin

import rewardsmith.core
from rewardsmith import Component, ComponentConfig, Score, load_pack, make_plugin_host
from rewardsmith.core.backend_pool import BackendPool
from rewardsmith.core.errors import PackError, PluginError
from rewardsmith.core.hookspecs import hookimpl


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def test_duplicate_component_type_names_both_plugins() -> None:
    with pytest.raises(PluginError) as info:
        make_plugin_host(load_entry_points=False,
                         plugins=[("toy", toy_plugin), ("toy-copy", _module(
                             "copy", register_components=toy_plugin.register_components))])
    msg = str(info.value)
    assert "registered twice" in msg and "'toy'" in msg and "'toy-copy'" in msg


def test_hook_raising_is_reported_with_its_plugin() -> None:
    @hookimpl
    def register_components(register):  # type: ignore[no-untyped-def]
        raise ImportError("needs libfoo")

    module = _module("b", register_components=register_components)
    with pytest.raises(PluginError, match=r"plugin 'broken'.*register_components.*libfoo"):
        make_plugin_host(load_entry_points=False, plugins=[("broken", module)])


def test_misspelt_hookimpl_fails_loudly() -> None:
    @hookimpl
    def register_componets(register):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(PluginError, match="register_componets"):
        make_plugin_host(load_entry_points=False,
                         plugins=[("typo", _module("typo", register_componets=register_componets))])


def test_registering_a_non_component_is_rejected() -> None:
    @hookimpl
    def register_components(register):  # type: ignore[no-untyped-def]
        register(dict)

    with pytest.raises(PluginError, match="not a rewardsmith Component"):
        make_plugin_host(load_entry_points=False,
                         plugins=[("odd", _module("odd", register_components=register_components))])


def test_builtin_entry_points_load_and_allowlist_restricts(monkeypatch) -> None:
    full = make_plugin_host()
    assert {"checks", "packs"} <= set(full.infos)
    assert full.infos["checks"].distribution == "rewardsmith"
    monkeypatch.setenv("REWARDSMITH_PLUGINS", "packs")
    restricted = make_plugin_host()
    assert set(restricted.infos) == {"packs"}
    assert restricted.pm.is_blocked("checks")


def test_unknown_type_lookup_lists_installed(tmp_path) -> None:
    class Tiny(Component):
        class Config(ComponentConfig):
            type: Literal["tiny"] = "tiny"

        def score(self, sample):  # type: ignore[no-untyped-def]
            return Score(1.0)

    @hookimpl
    def register_components(register):  # type: ignore[no-untyped-def]
        register(Tiny)

    module = _module("tiny", register_components=register_components)
    host = make_plugin_host(load_entry_points=False, plugins=[("tiny", module)])
    assert host.components["tiny"] == (Tiny, "tiny", "<local>")
    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\nversion = "1.0.0"\n\n'
                    '[[components]]\nid = "a"\ntype = "nope"\n')
    with pytest.raises(PackError, match="unknown component type 'nope'; installed types: tiny"):
        load_pack(pack, host)


def test_unknown_judge_backend_lists_installed() -> None:
    host = make_plugin_host()
    with pytest.raises(PluginError, match=r"unknown judge backend 'nope'; installed: "
                       "bedrock, openai"):
        BackendPool(host).get({"backend": "nope"})


def test_the_plugin_layer_reads_at_a_glance() -> None:
    """Issue 8: hookspecs + host together stay within 150 lines."""
    core = Path(rewardsmith.core.__file__).parent
    lines = sum(len((core / name).read_text(encoding="utf-8").splitlines())
                for name in ("hookspecs.py", "plugins.py"))
    assert lines <= 150, f"core/hookspecs.py + core/plugins.py are {lines} lines (limit 150)"
