"""The one pack locator: name | relative to the parent | path | under a caller's root."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.core.errors import PackError
from rewardsmith.core.loading import content_hash, locate, resolve

PACK = '[pack]\nname = "{name}"\nversion = "1"\n{extra}[[components]]\nid = "a"\n' \
       'type = "non-empty"\n'


def _write(path: Path, name: str, extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PACK.format(name=name, extra=extra), encoding="utf-8")
    return path


def test_a_registered_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch) -> None:
    host = make_plugin_host()
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "json-extraction", "decoy")
    source = locate("json-extraction", host)
    assert source.registered == "json-extraction" and source.distribution == "rewardsmith"
    assert "(pack 'json-extraction' from rewardsmith)" in source.label


def test_extends_resolves_next_to_the_child_before_the_working_directory(
        host, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "base.toml", "cwd-base")
    _write(tmp_path / "packs" / "base.toml", "sibling-base")
    child = _write(tmp_path / "packs" / "child.toml", "child", 'extends = "base.toml"\n')
    resolved = resolve(child, host)
    assert resolved.chain == [str(tmp_path / "packs" / "base.toml"), str(child)]
    assert "tests" not in resolved.table_origins


def test_roots_are_searched_for_relative_paths_after_the_working_directory(
        host, tmp_path, monkeypatch) -> None:
    root = tmp_path / "task"
    _write(root / "packs" / "p.toml", "under-root")
    monkeypatch.chdir(tmp_path)
    assert load_pack("packs/p.toml", host, roots=[root]).name == "under-root"
    _write(tmp_path / "packs" / "p.toml", "in-cwd")
    assert load_pack("packs/p.toml", host, roots=[root]).name == "in-cwd"


def test_not_found_names_every_place_looked(host, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PackError) as info:
        locate("packs/none.toml", host, roots=[tmp_path / "task"])
    message = str(info.value)
    assert "no pack named 'packs/none.toml' is registered" in message
    assert f"also looked for {tmp_path / 'task' / 'packs' / 'none.toml'}" in message


def test_tests_table_folder_is_where_it_was_written(host, tmp_path) -> None:
    parent = _write(tmp_path / "a" / "parent.toml", "parent", "")
    parent.write_text(parent.read_text() + '[tests]\nsuite = "cases.jsonl"\n')
    child = _write(tmp_path / "b" / "child.toml", "child", 'extends = "../a/parent.toml"\n')
    pack = load_pack(child, host)
    assert pack.tests_source is not None and pack.tests_source.folder == tmp_path / "b" / ".." / "a"
    assert [s.label for s in pack.sources] == [str(tmp_path / "b" / ".." / "a" / "parent.toml"),
                                               str(child)]


def test_content_hash_ignores_digest_order_and_tracks_content() -> None:
    doc = {"b": 1, "a": [1, 2]}
    assert content_hash(doc, ["x", "y"]) == content_hash({"a": [1, 2], "b": 1}, ["y", "x"])
    assert content_hash(doc, ["x"]) != content_hash(doc, ["y"])
    assert content_hash(doc, []).startswith("sha256:") and len(content_hash(doc, [])) == 23
