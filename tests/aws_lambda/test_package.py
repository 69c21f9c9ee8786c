"""``rewardsmith lambda package``: the zip works on its own, in an isolated interpreter
that sees only the zip, the runtime's boto3 and the standard library — as in Lambda.

One ``--local`` build per session (copying installed distributions: offline and quick).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.aws_lambda.package.build import (
    BuildError,
    BuildOptions,
    closure_environment,
    installed_closure,
    pack_requirements,
    pip_command,
    resolve_pack,
)
from rewardsmith.aws_lambda.package.template import to_yaml
from rewardsmith.cli import build_cli

ROOT = Path(__file__).resolve().parents[2]
PACKS = ROOT / "src" / "rewardsmith" / "rubric_packs"
ROLLOUTS = ROOT / "examples" / "rollouts" / "json-extraction.jsonl"


def _copy_pack(folder: Path) -> Path:
    (folder / "schemas").mkdir(parents=True)
    shutil.copyfile(PACKS / "json-extraction.toml", folder / "json-extraction.toml")
    shutil.copyfile(PACKS / "schemas" / "invoice.schema.json",
                    folder / "schemas" / "invoice.schema.json")
    (folder / ".hidden-notes").write_text("not shipped", encoding="utf-8")
    # Beside the pack, as in a real working folder: files holding customer text that the
    # pack does not reference, and so must not ship (issue 10).
    (folder / "rollouts.jsonl").write_text('{"id": "c1", "messages": []}\n', encoding="utf-8")
    (folder / "report.html").write_text("<html>customer text</html>", encoding="utf-8")
    (folder / "logs").mkdir()
    (folder / "logs" / "run.log").write_text("customer text", encoding="utf-8")
    (folder / "schemas" / "unused.schema.json").write_text("{}", encoding="utf-8")
    return folder / "json-extraction.toml"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("lambda-build")
    pack = _copy_pack(work / "my-pack")
    host = make_plugin_host()
    result = CliRunner().invoke(
        build_cli(host),
        ["lambda", "package", "--pack", str(pack), "-o", str(work / "dist" / "reward.zip"),
         "--template", str(work / "template.yaml"), "--memory", "1024", "--timeout", "600",
         "--local", "-e", "REWARDSMITH_DEADLINE_MARGIN_MS=3000"],
        obj={"host": host}, catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return {"work": work, "zip": work / "dist" / "reward.zip",
            "template": work / "template.yaml", "output": result.output}


@pytest.fixture(scope="session")
def task_root(built: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(built["zip"]) as zf:
        zf.extractall(root)
    return root


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the python3.12 runtime adds to sys.path: boto3 and its dependencies (linked,
    not copied: botocore's data is large)."""
    runtime = tmp_path_factory.mktemp("var-runtime")
    for dist in installed_closure(["boto3"]):
        base = Path(str(dist.locate_file(""))).resolve()
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            if (base / top).exists() and not (runtime / top).exists():
                (runtime / top).symlink_to(base / top)
    return runtime


def test_only_the_files_the_pack_references_ship_and_are_listed(built: dict[str, Any]) -> None:
    with zipfile.ZipFile(built["zip"]) as zf:
        shipped = sorted(n for n in zf.namelist() if n.startswith("rewardsmith_pack/"))
    assert shipped == ["rewardsmith_pack/json-extraction.toml",
                       "rewardsmith_pack/schemas/invoice.schema.json"]
    assert ("pack files: rewardsmith_pack/json-extraction.toml, "
            "rewardsmith_pack/schemas/invoice.schema.json") in built["output"]


def test_the_template_runtime_matches_the_python_version(tmp_path: Path) -> None:
    host = make_plugin_host()
    result = CliRunner().invoke(
        build_cli(host),
        ["lambda", "package", "--pack", "json-extraction", "-o", str(tmp_path / "r.zip"),
         "--template", str(tmp_path / "t.yaml"), "--local", "--python-version", "3.13"],
        obj={"host": host}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    props = _parse_yaml(tmp_path / "t.yaml")["Resources"]["RewardFunction"]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Environment"]["Variables"]["REWARDSMITH_METRIC_MODULES"] == ""


def test_zip_holds_rewardsmith_metadata_pack_and_no_boto3(built: dict[str, Any]) -> None:
    with zipfile.ZipFile(built["zip"]) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.startswith("rewardsmith-")
                            and n.endswith(".dist-info/entry_points.txt"))
        assert "checks = rewardsmith.plugins.checks" in zf.read(entry_points).decode()
        modes = {(i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert "rewardsmith/aws_lambda/runtime.py" in names
    assert "rewardsmith_pack/json-extraction.toml" in names
    assert "rewardsmith_pack/schemas/invoice.schema.json" in names
    assert "rewardsmith_pack/.hidden-notes" not in names
    assert any(n.startswith("pydantic_core/") for n in names)
    assert any(n.startswith("rewardsmith/__pycache__/") for n in names)  # precompiled
    assert not any(n.split("/")[0] in {"boto3", "botocore", "s3transfer"} for n in names)
    assert modes <= {0o644, 0o755}
    assert "REWARDSMITH_PACK=rewardsmith_pack/json-extraction.toml" in built["output"]


ISOLATED_SCRIPT = r"""
import json, os, sys, sysconfig
task_root, runtime, rollouts = sys.argv[1:4]
assert not any('site-packages' in p for p in sys.path), sys.path
sys.path[:0] = [task_root] + ([runtime] if runtime else [])
os.chdir(task_root)
import rewardsmith.aws_lambda as m

class Context:
    aws_request_id = 'iso-1'
    function_name = 'reward-SageMaker-iso'
    def get_remaining_time_in_millis(self):
        return 30000

rows = [json.loads(line) for line in open(rollouts, encoding='utf-8')]
out = m.handler(rows, Context())
stdlib = sysconfig.get_paths()['stdlib']
allowed = tuple(os.path.realpath(p) for p in
                [task_root, stdlib]
                + [os.path.join(runtime, n) for n in (os.listdir(runtime) if runtime else [])])
outside = sorted({
    name for name, mod in list(sys.modules.items()) if name != '__main__'
    and getattr(mod, '__file__', None)
    and not os.path.realpath(mod.__file__).startswith(allowed)
})
print('RESULT ' + json.dumps({'out': out, 'outside': outside,
                              'judges_loaded': 'rewardsmith.plugins.judges' in sys.modules,
                              'rewardsmith': os.path.realpath(m.__file__),
                              'error': m.default_handler().load_error}))
"""


@pytest.mark.parametrize(("pack_env", "with_runtime"), [
    # The pack copied into the zip, with the runtime's boto3 on the path as in Lambda.
    ("rewardsmith_pack/json-extraction.toml", True),
    # The built-in pack with nothing but the zip and the standard library: loading a
    # deterministic pack must not even need boto3.
    ("json-extraction", False),
])
def test_zip_scores_in_an_isolated_interpreter(task_root: Path, runtime_dir: Path,
                                               tmp_path: Path, pack_env: str,
                                               with_runtime: bool) -> None:
    script = tmp_path / "invoke.py"
    script.write_text(ISOLATED_SCRIPT, encoding="utf-8")
    env = {"REWARDSMITH_PACK": pack_env, "LAMBDA_TASK_ROOT": str(task_root),
           "PATH": os.environ.get("PATH", ""), "REWARDSMITH_METRICS": "0"}
    if with_runtime:  # the deployed environment: what the template sets for this zip too
        env["REWARDSMITH_PLUGINS"] = "checks,packs"
        env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    runtime = str(runtime_dir) if with_runtime else ""
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(task_root), runtime,
         str(ROLLOUTS)], capture_output=True, text=True, env=env, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    report = json.loads(line.removeprefix("RESULT "))
    assert report["error"] is None
    assert report["rewardsmith"].startswith(os.path.realpath(task_root))
    assert report["outside"] == []  # nothing imported from this machine's site-packages
    # The judges are skipped by the preselection, and without one by the host, which
    # imports a built-in plugin only when the pack uses it (core/plugin_manifest.py).
    assert report["judges_loaded"] is False

    rows = [json.loads(x) for x in ROLLOUTS.read_text(encoding="utf-8").splitlines()]
    expected = Scorer(load_pack("json-extraction", make_plugin_host())).score(rows)
    assert [r["id"] for r in report["out"]] == [r["id"] for r in rows]
    assert [r["aggregate_reward_score"] for r in report["out"]] == expected.rewards


def _dist_info(staging: Path, name: str, entry_points: str) -> None:
    info = staging / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
                                   encoding="utf-8")
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


def test_pydantic_plugins_stay_on_when_the_zip_holds_one(tmp_path: Path) -> None:
    """Issue 13: the template turns pydantic's plugin scan off only for a closure without
    a pydantic plugin; a zip that ships one (e.g. a tracing plugin) keeps the scan."""
    _dist_info(tmp_path, "plain", "[console_scripts]\nplain = plain:main\n")
    _dist_info(tmp_path, "rewardsmith", "[rewardsmith]\nchecks = rewardsmith.plugins.checks\n")
    notes: list[str] = []
    assert closure_environment(tmp_path, notes) == {"PYDANTIC_DISABLE_PLUGINS": "__all__"}
    assert notes == []

    _dist_info(tmp_path, "tracer", "[pydantic]\ntracer = tracer.plugin:plugin\n")
    notes = []
    assert closure_environment(tmp_path, notes) == {}
    assert notes == ["pydantic plugins in the zip (tracer): pydantic's plugin scan stays on"]


def _parse_yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError:
        python = shutil.which("python3")
        if python is None:
            pytest.skip("no YAML parser available")
        probe = subprocess.run(
            [python, "-c", "import json, sys, yaml; "
             "print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", str(path)],
            capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            pytest.skip("no YAML parser available")
        return json.loads(probe.stdout)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_sam_template(built: dict[str, Any]) -> None:
    template = _parse_yaml(built["template"])
    function = template["Resources"]["RewardFunction"]
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert function["Type"] == "AWS::Serverless::Function"
    props = function["Properties"]
    assert "SageMaker" in props["FunctionName"]
    assert props["Handler"] == "rewardsmith.aws_lambda.handler"
    assert props["Runtime"] == "python3.12"
    assert (props["MemorySize"], props["Timeout"]) == (1024, 600)
    assert props["Environment"]["Variables"] == {
        "REWARDSMITH_PACK": "rewardsmith_pack/json-extraction.toml",
        "REWARDSMITH_PLUGINS": "checks,packs",  # only what the pack uses
        "REWARDSMITH_DEADLINE_MARGIN_MS": "3000",
        # No distribution in the zip declares a pydantic plugin (issue 13).
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        # Operator grants, deny by default: this pack names no host, variable or module.
        "REWARDSMITH_ALLOWED_HOSTS": "",
        "REWARDSMITH_ALLOWED_ENV": "",
        "REWARDSMITH_METRIC_MODULES": "",
    }
    assert (built["template"].parent / props["CodeUri"]).resolve() == built["zip"].resolve()
    (statement,) = props["Policies"][0]["Statement"]
    assert statement["Action"] == ["bedrock:InvokeModel"]
    assert template["Outputs"]["RewardFunctionArn"]["Value"] == {
        "Fn::GetAtt": ["RewardFunction", "Arn"]}


def test_sam_template_passes_cfn_lint(built: dict[str, Any]) -> None:
    # The package command runs cfn-lint itself when it is installed (here: system-wide).
    if "cfn-lint is not installed" in built["output"]:
        pytest.skip("cfn-lint is not installed")
    assert "cfn-lint: no findings" in built["output"] or \
        "cfn-lint passed with findings" in built["output"], built["output"]


def test_yaml_emitter_quotes_what_yaml_would_misread(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    document = {"a": "yes", "b": "1.0", "c": "x: y # z", "d": [], "e": {}, "f": None,
                "g": [{"k": True}, "null"], "h key": "\u00e9\n"}
    path.write_text(to_yaml(document), encoding="utf-8")
    assert _parse_yaml(path) == document


def test_pip_command_targets_the_lambda_runtime() -> None:
    options = BuildOptions(pack="json-extraction", output=Path("r.zip"), architecture="arm64")
    command = pip_command(Path("/tmp/t"), ["pydantic>=2.7,<3"], options)
    assert command[1:4] == ["-m", "pip", "install"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--target") + 1] == "/tmp/t"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms and all(p.endswith("aarch64") for p in platforms)
    assert command[-1] == "pydantic>=2.7,<3"


LANG_PACK = """
[pack]
name = "lang"
version = "1"

[[components]]
id = "lang"
type = "language-match"
expected = "en"
"""


def test_requirements_follow_the_pack_and_leave_boto3_to_the_runtime(tmp_path: Path) -> None:
    host = make_plugin_host()
    pack = tmp_path / "lang.toml"
    pack.write_text(LANG_PACK, encoding="utf-8")
    source = resolve_pack(str(pack), host)
    options = BuildOptions(pack=str(pack), output=tmp_path / "r.zip")
    names = [r.split(">")[0].split("=")[0].split("<")[0] for r in
             pack_requirements(source, host, options)]
    assert "py3langid" in names and "pydantic" in names
    assert "boto3" not in names and "botocore" not in names
    plain = resolve_pack("json-extraction", host)
    plain_names = " ".join(pack_requirements(plain, host, BuildOptions(
        pack="json-extraction", output=tmp_path / "r.zip", pin_boto3="1.40.0")))
    assert "py3langid" not in plain_names and "boto3==1.40.0" in plain_names


def test_extends_outside_the_pack_folder_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text(LANG_PACK.replace('name = "lang"', 'name = "base"'), encoding="utf-8")
    (tmp_path / "child").mkdir()
    child = tmp_path / "child" / "child.toml"
    child.write_text('[pack]\nname = "child"\nversion = "1"\nextends = "../base.toml"\n',
                     encoding="utf-8")
    with pytest.raises(BuildError, match="outside the pack's folder"):
        resolve_pack(str(child), make_plugin_host())


def test_bad_function_name_is_refused(tmp_path: Path) -> None:
    host = make_plugin_host()
    result = CliRunner().invoke(
        build_cli(host), ["lambda", "package", "--pack", "json-extraction", "-o",
                          str(tmp_path / "r.zip"), "--function-name", "bad name!", "--local"],
        obj={"host": host})
    assert result.exit_code == 2
    assert "function name 'bad name!'" in result.output
    assert not (tmp_path / "r.zip").exists()
