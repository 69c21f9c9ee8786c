"""core/settings.py declares every environment variable rewardsmith reads; docs/settings.md
is the same table, and only the files it justifies touch ``os.environ``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rewardsmith.core import settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "rewardsmith"
DOC = ROOT / "docs" / "settings.md"
ROW = re.compile(r"^\| `(?P<name>[A-Z_]+)` \| (?P<default>[^|]+) \| (?P<text>.+) \|$")


def documented() -> dict[str, tuple[str, str]]:
    rows = [ROW.match(line) for line in DOC.read_text(encoding="utf-8").splitlines()]
    return {m["name"]: (m["default"].strip(), m["text"].strip()) for m in rows if m}


def test_every_declared_setting_is_documented_as_declared() -> None:
    docs = documented()
    for setting in settings.SETTINGS.values():
        default = "—" if setting.default is None else f"`{setting.default}`"
        expected = f"| `{setting.name}` | {default} | {setting.description} |"
        assert docs.get(setting.name) == (default, setting.description), \
            f"docs/settings.md should have the row\n{expected}"


def test_every_documented_setting_is_declared() -> None:
    assert set(documented()) - set(settings.SETTINGS) == set()


def test_every_rewardsmith_variable_named_in_the_source_is_declared() -> None:
    named = {(path.relative_to(SRC).as_posix(), name)
             for path in SRC.rglob("*.py")
             for name in re.findall(r"\bREWARDSMITH_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}
    assert len(named) > 10  # the scan sees the readers (a guard against a broken pattern)
    assert {(where, name) for where, name in named if name not in settings.SETTINGS} == set()


def test_the_docs_name_only_declared_settings() -> None:
    # decisions.md is a record of what was decided, including about variables since removed.
    pages = [ROOT / "README.md", *(p for p in (ROOT / "docs").glob("*.md")
                                   if p.name != "decisions.md")]
    named = {(page.name, name) for page in pages
             for name in re.findall(r"\bREWARDSMITH_[A-Z0-9_]*[A-Z0-9]\b", page.read_text())}
    assert {(page, name) for page, name in named if name not in settings.SETTINGS} == set()


def test_every_declared_setting_is_read_somewhere() -> None:
    source = "\n".join(path.read_text() for path in SRC.rglob("*.py")
                       if path.name != "settings.py")
    assert [name for name in settings.SETTINGS if name not in source] == []


def test_only_the_documented_files_touch_os_environ() -> None:
    touching = {path.relative_to(SRC).as_posix() for path in SRC.rglob("*.py")
                if "os.environ" in path.read_text()}
    assert touching == {"core/settings.py", "simulators/wiring.py", "pytest_plugin.py"}
    text = DOC.read_text(encoding="utf-8")
    for where in touching - {"core/settings.py"}:
        assert f"`{where}`" in text, f"docs/settings.md should say why {where} does"


def test_reading_an_undeclared_name_fails_naming_it() -> None:
    with pytest.raises(KeyError, match="'REWARDSMITH_NOPE' is not a declared setting"):
        settings.get("REWARDSMITH_NOPE", {"REWARDSMITH_NOPE": "1"})


def test_values_come_from_the_given_environment_else_the_process(monkeypatch) -> None:
    env = {"REWARDSMITH_PLUGINS": " checks, ,acme-checks ", "REWARDSMITH_DEBUG": "Yes"}
    assert settings.get_list("REWARDSMITH_PLUGINS", env) == ["checks", "acme-checks"]
    assert settings.get_list("REWARDSMITH_METRIC_MODULES", env) is None
    assert settings.get_list("REWARDSMITH_PLUGINS", {"REWARDSMITH_PLUGINS": ""}) == []
    assert settings.get_flag("REWARDSMITH_DEBUG", env) is True
    assert settings.get_flag("REWARDSMITH_DEBUG", {"REWARDSMITH_DEBUG": "0"}) is False
    monkeypatch.setenv("REWARDSMITH_PACK", "tool-calling")
    assert settings.get("REWARDSMITH_PACK") == "tool-calling"
    assert settings.get("REWARDSMITH_PACK", {}) is None
