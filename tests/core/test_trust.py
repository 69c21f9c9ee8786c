"""Issue 10: the operator-grant module (core.trust) and the kinds it closes in the loader:
H (foreign exceptions become named pack or sample errors, exit 2), I (one confinement rule
for every path a pack names), J (``"id": null`` is an id), D (pack-named code)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from rewardsmith import make_plugin_host
from rewardsmith.cli import build_cli
from rewardsmith.core import trust
from rewardsmith.core.engine import Scorer
from rewardsmith.core.errors import PackError, SampleError
from rewardsmith.core.pack import load_pack
from rewardsmith.core.sample import parse_sample

HEADER = '[pack]\nname = "t"\nversion = "1"\n'
LENGTH = '\n[[components]]\nid = "len"\ntype = "length"\nunit = "words"\nmax = 10\n'


@pytest.fixture(autouse=True)
def _local(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REWARDSMITH_ALLOWED_HOSTS", "REWARDSMITH_ALLOWED_ENV",
                 "REWARDSMITH_METRIC_MODULES", "AWS_LAMBDA_FUNCTION_NAME",
                 "AWS_LAMBDA_RUNTIME_API"):
        monkeypatch.delenv(name, raising=False)


def score_cli(tmp_path: Path, pack: Path) -> Any:
    rollouts = tmp_path / "rollouts.jsonl"
    rollouts.write_bytes(orjson.dumps({"id": "a", "messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}) + b"\n")
    host = make_plugin_host()
    return CliRunner().invoke(build_cli(host), ["score", str(rollouts), "--pack", str(pack),
                                                "--no-summary"], obj={"host": host})


# -- H: the loader lets no foreign exception out -------------------------------------------------
@pytest.mark.parametrize(("name", "content", "message"), [
    ("overflow", HEADER + '[aggregate]\nmethod = "formula"\nformula = "len * '
     + "9" * 400 + '"\n' + LENGTH, "400-digit number is too large"),
    ("non-utf8", HEADER.replace('"t"', '"t\xff"'), "cannot read the pack"),
    ("nested", HEADER + "x = " + "[" * 5000 + "]" * 5000 + "\n" + LENGTH, "nested too deeply"),
])
def test_a_malformed_pack_is_a_named_pack_error_exit_2(tmp_path, name, content, message):
    pack = tmp_path / f"{name}.toml"
    pack.write_bytes(content.encode("latin-1") if name == "non-utf8" else content.encode())
    with pytest.raises(PackError, match=message):
        load_pack(pack)
    result = score_cli(tmp_path, pack)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("calls", [5, True, "call", {"name": "x"}])
def test_tool_calls_of_the_wrong_type_is_a_sample_error(calls):
    raw = {"id": "s", "messages": [{"role": "user", "content": "q"},
                                   {"role": "assistant", "content": "", "tool_calls": calls}]}
    with pytest.raises(SampleError, match="'tool_calls' must be a list"):
        parse_sample(raw, 0)


# -- J: an explicit null id is an id -------------------------------------------------------------
def test_a_malformed_sample_with_id_null_never_takes_another_samples_id(tmp_path):
    pack = tmp_path / "p.toml"
    pack.write_text(HEADER + LENGTH)
    scorer = Scorer(load_pack(pack))
    try:
        good = {"id": 0, "messages": [{"role": "user", "content": "q"},
                                      {"role": "assistant", "content": "fine"}]}
        batch = scorer.score([{"id": None, "messages": "broken"}, good,
                              {"messages": "broken, no id"}], timeout_s=10)
    finally:
        scorer.close()
    assert [r.id for r in batch.results] == [None, 0, 2]
    assert [r.status for r in batch.results] == ["failed", "ok", "failed"]


# -- I: one confinement rule ------------------------------------------------------------------
def test_extends_an_absolute_path_is_refused_without_opening_it(tmp_path):
    child = tmp_path / "child.toml"
    child.write_text(HEADER + 'extends = "/etc/passwd"\n')
    with pytest.raises(PackError, match=r"pack\.extends: '/etc/passwd' must be a relative path"):
        load_pack(child)


def test_extends_through_a_symlink_out_of_the_pack_tree_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "base.toml").write_text(HEADER + LENGTH)
    tree = tmp_path / "project" / "packs"
    tree.mkdir(parents=True)
    os.symlink(outside / "base.toml", tree / "base.toml")
    child = tree / "child.toml"
    child.write_text(HEADER.replace('"t"', '"c"') + 'extends = "base.toml"\n')
    with pytest.raises(PackError, match="leads outside the pack's folder"):
        load_pack(child)
    # ".." stays possible inside the pack tree (calibrated/ next to its base).
    (tmp_path / "project" / "base2.toml").write_text(HEADER + LENGTH)
    child.write_text(HEADER.replace('"t"', '"c"') + 'extends = "../base2.toml"\n')
    assert load_pack(child).name == "c"
    child.write_text(HEADER.replace('"t"', '"c"') + 'extends = "../../outside/base.toml"\n')
    with pytest.raises(PackError, match="leads outside the pack's folder tree"):
        load_pack(child)


def test_a_schema_symlinked_out_of_the_pack_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "object"}')
    folder = tmp_path / "pack"
    folder.mkdir()
    os.symlink(secret, folder / "schema.json")
    pack = folder / "p.toml"
    pack.write_text(HEADER + '\n[[components]]\nid = "js"\ntype = "json-schema"\n'
                    'schema_file = "schema.json"\n')
    with pytest.raises(PackError, match="leads outside the pack's folder"):
        load_pack(pack)


@pytest.mark.parametrize("cache_path", ["/tmp/anywhere/cache.sqlite3", "../cache.sqlite3"])
def test_a_judge_cache_path_outside_the_pack_folder_is_refused(tmp_path, cache_path):
    pack = tmp_path / "p.toml"
    pack.write_text(HEADER + f'\n[judge]\nbackend = "bedrock"\nmodel = "m"\n'
                    f'cache_path = "{cache_path}"\n\n[[components]]\nid = "r"\n'
                    'type = "rubric-judge"\ncriteria = [{ id = "c", pass_if = "ok" }]\n')
    with pytest.raises(PackError, match=r"cache_path: .* must be a relative path"):
        load_pack(pack)
    assert not Path("/tmp/anywhere").exists()


def test_a_tests_suite_outside_the_pack_folder_is_refused(tmp_path):
    from rewardsmith.packtest.loading import load_pack_suite
    from rewardsmith.packtest.suite import SuiteError

    pack = tmp_path / "p.toml"
    pack.write_text(HEADER + LENGTH + '\n[tests]\nsuite = "/etc/passwd"\n')
    with pytest.raises(SuiteError, match="must be a relative path inside the pack's folder"):
        load_pack_suite(load_pack(pack))


# -- D: pack-named code --------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["builtins:print", "sys:exit", "os:system"])
@pytest.mark.parametrize("allowlist", [None, "*"])
def test_a_pack_cannot_name_standard_library_functions(tmp_path, monkeypatch, ref, allowlist):
    if allowlist is not None:
        monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", allowlist)
    pack = tmp_path / "p.toml"
    pack.write_text(HEADER + f'\n[[components]]\nid = "m"\ntype = "product-metric"\n'
                    f'metric = "m"\nsource = {{ kind = "function", ref = "{ref}" }}\n'
                    'transform = { kind = "identity" }\n')
    with pytest.raises(PackError, match="standard library or builtins"):
        load_pack(pack)


def test_in_the_lambda_no_module_is_granted_by_default(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    with pytest.raises(trust.TrustError, match="in the Lambda nothing is granted"):
        trust.check_module("company_metrics", "metric function")
    monkeypatch.setenv("REWARDSMITH_METRIC_MODULES", "company_metrics")
    trust.check_module("company_metrics.sub", "metric function")


def test_grants_record_what_a_pack_used(tmp_path, monkeypatch):
    monkeypatch.setenv("REWARDSMITH_ALLOWED_ENV", "TOKEN_X")
    pack = tmp_path / "p.toml"
    pack.write_text(HEADER + '\n[[components]]\nid = "m"\ntype = "product-metric"\n'
                    'metric = "m"\nsource = { kind = "http", url = "http://localhost:1/x", '
                    'value_path = "v", headers_from_env = { a = "TOKEN_X" } }\n'
                    'transform = { kind = "identity" }\n')
    assert load_pack(pack).needs.settings() == {
        "REWARDSMITH_ALLOWED_HOSTS": "localhost", "REWARDSMITH_ALLOWED_ENV": "TOKEN_X",
        "REWARDSMITH_METRIC_MODULES": ""}


@pytest.mark.parametrize(("ip", "refused"), [
    ("169.254.169.254", True), ("169.254.170.2", True), ("fd00:ec2::254", True),
    ("::ffff:169.254.169.254", True), ("fe80::1%eth0", True), ("0.0.0.0", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("2001:db8::1", False), ("example.com", False),
])
def test_refused_addresses(ip, refused):
    assert (trust.refused_address(ip, {}) is not None) is refused
