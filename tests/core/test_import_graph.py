"""``core/`` is the bottom layer: no import cycle inside it and nothing imported from the
layers above it (plugins, runtimes, CLI) or from click/boto3 — checked on the source, so
imports hidden under ``TYPE_CHECKING`` or inside functions count too, and on a real
interpreter with ``python -X importtime``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import rewardsmith.core

CORE_DIR = Path(rewardsmith.core.__file__).parent
FORBIDDEN = ("click", "boto3", "botocore")


def _forbidden(module: str) -> bool:
    """Outside core: any other rewardsmith module (plugins, cli, aws_lambda, simulators, ...,
    and the lazy top-level API, which reaches them), or click/boto3/botocore."""
    if module == "rewardsmith" or module.startswith("rewardsmith."):
        return not (module == "rewardsmith.core" or module.startswith("rewardsmith.core."))
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def _module_name(path: Path) -> str:
    return "rewardsmith.core" if path.stem == "__init__" else f"rewardsmith.core.{path.stem}"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports anywhere in its body (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "rewardsmith.core".rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            # ``from rewardsmith.core import hookspecs`` imports a module, not a name.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in CORE_DIR.glob("*.py")}
    return {name: {m for m in _imports(path) if m in files and m != name}
            for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_scanner_sees_hidden_imports(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from rewardsmith.core.plugins import PluginHost\n"
        "def f():\n    from . import judge_cache\n    import click\n"
    )
    found = _imports(source)
    assert {"rewardsmith.core.plugins", "rewardsmith.core.judge_cache", "click"} <= found


def test_the_layer_rule_names_what_core_may_not_import() -> None:
    for module in ("rewardsmith", "rewardsmith.plugins.checks", "rewardsmith.simulators",
                   "rewardsmith.trainers.trl", "click", "botocore.config"):
        assert _forbidden(module), module
    for module in ("rewardsmith.core", "rewardsmith.core.judging", "pluggy", "clickhouse"):
        assert not _forbidden(module), module


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_core_has_no_import_cycle() -> None:
    graph = _graph()
    assert "rewardsmith.core.engine" in graph  # the scan found the package
    assert _cycle(graph) is None, f"import cycle in core/: {' -> '.join(_cycle(graph) or [])}"


def test_core_imports_nothing_from_the_layers_above() -> None:
    offenders = {
        f"{path.name}: {module}"
        for path in CORE_DIR.glob("*.py")
        for module in _imports(path)
        if _forbidden(module)
    }
    assert not offenders, sorted(offenders)


def test_importing_the_engine_loads_no_upper_layer() -> None:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import rewardsmith.core.engine"],
        capture_output=True, text=True, check=True,
    )
    # Each line: "import time: <self us> | <cumulative us> | <indented module name>".
    loaded = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines()
              if line.startswith("import time:") and line.count("|") == 2}
    assert "rewardsmith.core.engine" in loaded
    # The top-level package is loaded as core's parent; its API is lazy (PEP 562).
    offenders = sorted(m for m in loaded if m != "rewardsmith" and _forbidden(m))
    assert not offenders, offenders
