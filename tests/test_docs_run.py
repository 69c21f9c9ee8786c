"""Docs as tests (issue 15): every shell command and Python block in README.md and
docs/*.md runs, as written, so the docs cannot drift from the code.

Convention (tests/support/docblocks.py, docs/decisions.md "Issue 15"): ```console / ```sh /
```bash / ```shell and ```python blocks run from the repository root in the project's venv;
``<!-- not-run: reason -->`` on the line before a fence skips that block (counted and listed
with its reason at the end of the run); ```text and other blocks never run. New doc files
are picked up by the glob, with no list to maintain.

How it runs, cheaply: the repository's top-level entries are symlinked into a scratch
directory (commands read ``examples/`` as written, and files they write land there, not in
the checkout). A bundled Converse simulator answers every Bedrock judge: the environment
carries its endpoint, a region and dummy credentials, and no AWS config files. A plain
``rewardsmith ...`` command runs in this process through click (no interpreter start-up per
command); a block with any other command (pipes, redirects, ``source``, ``.venv/bin/...``)
runs whole in one ``bash -eo pipefail``. Python
blocks of one file run in order in one namespace (a later block may use an earlier one's
names); a block defining ``test_*`` functions runs under pytest. Each command must exit 0.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardsmith import make_plugin_host
from rewardsmith.cli import build_cli
from rewardsmith.simulators.converse_sim import ConverseSimulator
from rewardsmith.simulators.wiring import DUMMY_AWS, SIMULATOR_REGION
from tests.support.docblocks import Block, blocks, shell_commands, simple_argv

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Not linked into the scratch root: build output and local state.
_NOT_LINKED = {".git", ".venv", "out", "dist", "build", ".pytest_cache", ".ruff_cache"}


@dataclass
class Tally:
    """What the suite ran and skipped, reported once at the end."""

    commands_in_process: int = 0
    commands_in_shell: int = 0
    python_blocks: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    t = TALLY
    lines = [f"docs as tests: {t.files} files; ran {t.commands_in_process + t.commands_in_shell}"
             f" shell commands ({t.commands_in_process} in-process, {t.commands_in_shell} in "
             f"bash) and {t.python_blocks} Python blocks; skipped {len(t.skipped)} blocks "
             "(<!-- not-run -->):"]
    lines += [f"  {where}: {reason}" for where, reason in t.skipped]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    (ROOT / "out").mkdir(exist_ok=True)
    (ROOT / "out" / "docs-run.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def simulator() -> Iterator[ConverseSimulator]:
    with ConverseSimulator() as sim:
        yield sim


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository root as commands see it: symlinks to its entries, writes stay here."""
    root = tmp_path_factory.mktemp("docs-root")
    for entry in ROOT.iterdir():
        if entry.name not in _NOT_LINKED:
            (root / entry.name).symlink_to(entry)
    (root / "out").mkdir()
    # "The project's venv" is the one running this suite (``.venv`` under dev.py).
    (root / ".venv").symlink_to(Path(sys.prefix))
    return root


@pytest.fixture
def doc_env(simulator: ConverseSimulator, workspace: Path,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment every block runs in: the venv first on PATH, the simulator as the
    Bedrock endpoint with a region and dummy credentials, no AWS files, no judge cache."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": simulator.endpoint_url,
        "AWS_DEFAULT_REGION": SIMULATOR_REGION,
        "AWS_CONFIG_FILE": str(workspace / ".no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workspace / ".no-aws-credentials"),
        **DUMMY_AWS,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "REWARDSMITH_JUDGE_CACHE", "PYTHONPATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(workspace)
    return dict(os.environ)


def _run_in_process(argv: list[str], command: str, block: Block) -> None:
    host = make_plugin_host()
    result = CliRunner().invoke(build_cli(host), argv, obj={"host": host})
    TALLY.commands_in_process += 1
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{block.where}: `{command}` raised {result.exception!r}\n"
                             f"{result.output}") from result.exception
    assert result.exit_code == 0, \
        f"{block.where}: `{command}` exited {result.exit_code}:\n{result.output}"


def _run_shell_block(commands: list[str], block: Block, env: dict[str, str], cwd: Path) -> None:
    """The whole block in one bash, stopping at the first failing command (so ``source`` or
    ``cd`` in one line holds for the next, as in the reader's terminal)."""
    script = "set -eo pipefail\n" + "".join(
        f"echo {shlex.quote('+ ' + c)} >&2\n{c}\n" for c in commands)
    run = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=900, check=False)
    TALLY.commands_in_shell += len(commands)
    assert run.returncode == 0, (f"{block.where}: exited {run.returncode} (the last `+` line "
                                 f"is the command):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")


def _run_python(block: Block, namespace: dict[str, object], cwd: Path,
                env: dict[str, str]) -> None:
    TALLY.python_blocks += 1
    if "\ndef test_" in f"\n{block.text}":
        test_file = cwd / f"test_doc_{block.path.stem}_{block.line}.py"
        test_file.write_text(block.text + "\n", encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "--rootdir", str(cwd), str(test_file)], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, f"{block.where}: pytest failed:\n{run.stdout[-4000:]}"
        return
    code = compile(block.text, f"{block.path}:{block.line}", "exec")
    exec(code, namespace)


@pytest.mark.parametrize("doc", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_doc_blocks_run_as_written(doc: Path, doc_env: dict[str, str], workspace: Path) -> None:
    TALLY.files += 1
    namespace: dict[str, object] = {"__name__": f"doc_{doc.stem}"}
    for block in blocks(doc):
        if block.file is not None:
            target = workspace / block.file
            # Never through a link into the checkout (pyproject.toml, src/...).
            assert workspace.resolve() in target.resolve().parents and not target.exists(), \
                f"{block.where}: <!-- file: {block.file} --> must name a new file in the root"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text + "\n", encoding="utf-8")
        if block.kind is None:
            continue
        if block.not_run is not None:
            assert block.not_run, f"{block.where}: <!-- not-run: --> needs a reason"
            TALLY.skipped.append((f"{doc.relative_to(ROOT)}:{block.line}", block.not_run))
            continue
        if block.kind == "python":
            _run_python(block, namespace, workspace, doc_env)
            continue
        commands = shell_commands(block)
        assert commands, f"{block.where}: a shell block with no command"
        argvs = [simple_argv(c) for c in commands]
        if all(a is not None for a in argvs):  # plain rewardsmith commands: no new process
            for argv, command in zip(argvs, commands, strict=True):
                _run_in_process(argv, command, block)  # type: ignore[arg-type]
        else:
            _run_shell_block(commands, block, doc_env, workspace)


def test_extraction_follows_the_convention(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "<!-- not-run: needs AWS -->\n```bash\naws s3 ls\n```\n\n"
        "```console\n$ rewardsmith packs list   # all packs\nname ...\n"
        "$ rewardsmith score a.jsonl \\\n    --pack p\n```\n\n"
        "  ```python\n  x = 1\n  ```\n\n```text\n$ not run\n```\n"
        "```bash\nrewardsmith packs list | head -3\n```\n", encoding="utf-8")
    found = blocks(doc)
    assert [(b.line, b.lang, b.kind, b.not_run) for b in found] == [
        (2, "bash", "shell", "needs AWS"), (6, "console", "shell", None),
        (13, "python", "python", None), (17, "text", None, None), (20, "bash", "shell", None)]
    assert shell_commands(found[1]) == ["rewardsmith packs list   # all packs",
                                        "rewardsmith score a.jsonl --pack p"]
    assert simple_argv(shell_commands(found[1])[0]) == ["packs", "list"]
    assert simple_argv(shell_commands(found[4])[0]) is None  # a pipe: runs in bash
    assert found[2].text == "x = 1"
    assert shlex.split("a 'b c'") == ["a", "b c"]
