"""Built-in plugins are known from ``core/plugin_manifest.py`` and imported on first use
(issue 13): the manifest equals what each plugin registers, a pack imports only the
plugins it uses, and listing, duplicates and unknown types behave as with every plugin
imported."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from typing import Any

import pytest

from rewardsmith.core import plugins
from rewardsmith.core.errors import PackError, PluginError
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugin_manifest import BUILT_IN_PLUGINS, KINDS, StandIn
from rewardsmith.core.plugins import ENTRY_POINT_GROUP, make_plugin_host


def _built_in_entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
            if ep.dist is not None and ep.dist.name == "rewardsmith"}


@pytest.mark.parametrize("plugin", sorted(BUILT_IN_PLUGINS))
def test_the_manifest_lists_what_each_plugin_registers(plugin: str) -> None:
    """Names, order and where each class lives, as the plugin's own hooks register them."""
    module = _built_in_entry_points()[plugin].load()
    for kind, _, naming in KINDS:
        registered: dict[str, str] = {}
        hook = getattr(module, f"register_{kind}", None)
        if hook is not None:
            hook(register=lambda cls, out=registered, n=naming: out.__setitem__(
                getattr(cls, n)(), f"{cls.__module__}:{cls.__qualname__}"))
        assert registered == dict(BUILT_IN_PLUGINS[plugin].get(kind, {})), (plugin, kind)
        assert list(registered) == list(BUILT_IN_PLUGINS[plugin].get(kind, {}))


def test_every_built_in_entry_point_but_packs_is_in_the_manifest() -> None:
    assert set(_built_in_entry_points()) - set(BUILT_IN_PLUGINS) == {"packs"}


def test_values_are_the_plugins_own_classes() -> None:
    from rewardsmith.plugins.backends.bedrock import BedrockBackend
    from rewardsmith.plugins.checks.length import Length

    host = make_plugin_host()
    assert host.components["length"].value is Length
    assert host.judge_backends["bedrock"].value is BedrockBackend
    assert host.components["length"].plugin == "checks"
    assert host.components["length"].distribution == "rewardsmith"


def _modules_after(code: str) -> list[str]:
    probe = code + (
        "\nimport json, sys\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.startswith(\n"
        "    ('rewardsmith.plugins.checks', 'rewardsmith.plugins.judges',\n"
        "     'rewardsmith.plugins.metrics', 'rewardsmith.plugins.backends.')))))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_a_host_and_listing_it_imports_no_built_in_plugin() -> None:
    loaded = _modules_after(
        "from rewardsmith.core.plugins import make_plugin_host\n"
        "host = make_plugin_host()\n"
        "assert 'pii' in host.components and 'openai' in host.judge_backends\n")
    assert loaded == []


def test_a_pack_naming_one_check_imports_no_other_plugin(tmp_path: Any) -> None:
    pack = tmp_path / "one.toml"
    pack.write_text('[pack]\nname = "one"\nversion = "1"\n\n[[components]]\nid = "len"\n'
                    'type = "length"\nmax = 100\n', encoding="utf-8")
    loaded = _modules_after(
        "from rewardsmith.core.pack import load_pack\n"
        "from rewardsmith.core.plugins import make_plugin_host\n"
        f"load_pack({str(pack)!r}, make_plugin_host())\n")
    # the length check's module and what it imports; no other check, judge or backend
    assert "rewardsmith.plugins.checks.length" in loaded
    assert all(name.startswith("rewardsmith.plugins.checks") for name in loaded)
    for other in ("pii", "agent", "grounding", "injection", "language", "json_checks"):
        assert f"rewardsmith.plugins.checks.{other}" not in loaded


def test_a_rubric_judge_pack_imports_no_other_judge_component(tmp_path: Any) -> None:
    pack = tmp_path / "judge.toml"
    pack.write_text('[pack]\nname = "j"\nversion = "1"\n\n[judge]\nbackend = "bedrock"\n'
                    'model = "m"\nregion = "us-east-1"\n\n[[components]]\nid = "polite"\n'
                    'type = "rubric-judge"\n'
                    'criteria = [{ id = "polite", pass_if = "It is polite." }]\n',
                    encoding="utf-8")
    loaded = _modules_after(
        "from rewardsmith.core.pack import load_pack\n"
        "from rewardsmith.core.plugins import make_plugin_host\n"
        f"load_pack({str(pack)!r}, make_plugin_host())\n")
    assert "rewardsmith.plugins.judges.rubric_judge" in loaded
    assert "rewardsmith.plugins.backends.bedrock" in loaded
    for other in ("cascade", "jury", "listwise", "pairwise_judge"):
        assert f"rewardsmith.plugins.judges.{other}" not in loaded
    assert not any(name.startswith("rewardsmith.plugins.checks") for name in loaded)


def test_an_unknown_type_still_fails_at_pack_load_with_did_you_mean(tmp_path: Any) -> None:
    pack = tmp_path / "typo.toml"
    pack.write_text('[pack]\nname = "typo"\nversion = "1"\n\n[[components]]\nid = "len"\n'
                    'type = "lenght"\n', encoding="utf-8")
    with pytest.raises(PackError, match=r"lenght.*did you mean 'length'"):
        load_pack(str(pack), make_plugin_host())


def test_plugins_listing_is_unchanged() -> None:
    host = make_plugin_host()
    listed = {name: reg.plugin for name, reg in host.components.items()}
    for plugin, kinds in BUILT_IN_PLUGINS.items():
        for name in kinds.get("components", ()):
            assert listed[name] == plugin


def test_an_in_process_plugin_reusing_a_built_in_name_still_fails_naming_both() -> None:
    from rewardsmith.core.component import Component
    from rewardsmith.core.hookspecs import hookimpl

    class Fake(Component[Any]):
        type_name_value = "length"

        @classmethod
        def type_name(cls) -> str:
            return "length"

    class Plugin:
        @hookimpl
        def register_components(self, register: Any) -> None:
            register(Fake)

    with pytest.raises(PluginError, match=r"'length' is registered twice.*'checks'.*'mine'"):
        make_plugin_host(plugins=[("mine", Plugin())])


def test_a_class_named_otherwise_than_its_entry_fails_by_name() -> None:
    """A manifest entry pointing at a class that names itself differently."""
    stand_in = StandIn(_built_in_entry_points()["metrics"], plugins._register, plugins.blame)
    stand_in.names = {"components": {"product-metric":
                                      "rewardsmith.plugins.checks.length:Length"}}
    with pytest.raises(PluginError, match=r"plugin 'metrics'.*checks.length:Length is named "
                       r"\['length'\].*core/plugin_manifest.py"):
        stand_in.value("components", "product-metric")


def test_the_plugin_packages_still_export_their_classes() -> None:
    from rewardsmith.plugins import checks, judges
    from rewardsmith.plugins.checks.length import Length
    from rewardsmith.plugins.judges.rubric_judge import RubricJudge

    assert judges.RubricJudge is RubricJudge
    assert Length in checks.CHECKS and len(checks.CHECKS) == 19
    with pytest.raises(AttributeError):
        _ = judges.Nope
