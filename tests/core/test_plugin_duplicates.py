"""A name registered twice (core/plugin_duplicates.py): an installed package reusing a
built-in pack's name is skipped by name, with a warning, and every command still works;
two installed packages clashing still fail naming both. The packages are real
distributions (a .dist-info with an entry point on sys.path), found as pip would leave
them."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.cli.main import build_cli
from rewardsmith.core.errors import PluginError

Install = Callable[[str, str, dict[str, str]], None]


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """``install(distribution, entry_point, {pack name: TOML text})``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    modules: list[str] = []

    def install(dist: str, entry_point: str, packs: dict[str, str]) -> None:
        module = f"dup_{entry_point}_{len(modules)}"
        modules.append(module)
        for name, text in packs.items():
            (tmp_path / f"{module}_{name}.toml").write_text(text, encoding="utf-8")
        (tmp_path / f"{module}.py").write_text(
            "from pathlib import Path\n"
            "from rewardsmith.core.hookspecs import hookimpl\n"
            f"PACKS = {sorted(packs)!r}\n"
            "@hookimpl\n"
            "def register_rubric_packs(register):\n"
            "    for name in PACKS:\n"
            f"        register(name, Path(__file__).with_name('{module}_' + name + '.toml'))\n",
            encoding="utf-8")
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n",
                                       encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[rewardsmith]\n{entry_point} = {module}\n",
                                               encoding="utf-8")
        importlib.invalidate_caches()

    yield install
    for module in modules:
        sys.modules.pop(module, None)


def _pack(name: str) -> str:
    return (f'[pack]\nname = "{name}"\nversion = "0.1.0"\ndescription = "x"\n\n'
            '[[components]]\nid = "len"\ntype = "length"\nmax = 10\n')


# Entry points load sorted by name: "aaa_json" registers before rewardsmith's "packs",
# "zzz_json" after it; the built-in wins either way.
@pytest.mark.parametrize("entry_point", ["aaa_json", "zzz_json"])
def test_a_built_in_pack_name_reused_is_skipped_by_name(
        install: Install, entry_point: str, caplog: pytest.LogCaptureFixture) -> None:
    install("json-extraction", entry_point, {"json-extraction": _pack("json-extraction"),
                                             "acme-json": _pack("acme-json")})
    with caplog.at_level(logging.WARNING, logger="rewardsmith.plugins"):
        host = make_plugin_host(allow=None)
    built_in = host.rubric_packs["json-extraction"]
    assert (built_in.plugin, built_in.distribution) == ("packs", "rewardsmith")
    assert load_pack("json-extraction", host).version == "1.0.0"
    # the rest of the package still registers
    assert host.rubric_packs["acme-json"].distribution == "json-extraction"
    expected = (f"rubric pack 'json-extraction' from plugin {entry_point!r} (json-extraction) "
                "is skipped: rewardsmith has a built-in rubric pack 'json-extraction'; "
                "rename it in that package")
    assert host.skipped == [expected]
    assert expected in caplog.messages
    # every command works: `packs list` lists both, the built-in once
    listed = CliRunner().invoke(build_cli(host), ["packs", "list"], obj={"host": host})
    assert listed.exit_code == 0, listed.output
    rows = [line.split()[:2] for line in listed.output.splitlines()]
    assert rows.count(["json-extraction", "1.0.0"]) == 1 and ["acme-json", "0.1.0"] in rows


def test_two_installed_packages_clashing_still_fail_naming_both(install: Install) -> None:
    install("acme-one", "acme_one", {"acme-shared": _pack("acme-shared")})
    install("acme-two", "acme_two", {"acme-shared": _pack("acme-shared")})
    with pytest.raises(PluginError) as info:
        make_plugin_host(allow=None)
    text = str(info.value)
    assert "rubric pack 'acme-shared' is registered twice" in text
    assert "'acme_one' (acme-one)" in text and "'acme_two' (acme-two)" in text
