#!/usr/bin/env python3
"""Set up a local virtual environment and run the main job or the tests.

    python3 dev.py demo    score the example rollouts with the built-in json-extraction pack
    python3 dev.py test    ruff + the whole test suite
    python3 dev.py build   a wheel in dist/ (pip install dist/rewardsmith-*.whl anywhere)

Needs only Python >= 3.11. The environment lives in .venv and is reinstalled when
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".rewardsmith-installed"


def run(*args: str | Path) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"rewardsmith needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    pip = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if run(*pip, "--upgrade", "pip") or run(*pip, "-e", f".[{extras}]"):
        sys.exit("installing rewardsmith into .venv failed (see above)")
    STAMP.write_text(wanted)


def demo() -> int:
    ensure_env("lang")
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    results = out / "json-extraction.results.jsonl"
    report = out / "json-extraction.report.html"
    code = run(BIN / "rewardsmith", "score", "examples/rollouts/json-extraction.jsonl",
               "--pack", "json-extraction", "-o", results, "--report", report)
    print(f"\nper-sample results (Lambda shape + details): {results.relative_to(ROOT)}")
    print(f"report to open in a browser: {report.relative_to(ROOT)}")
    return code


def test(extra_args: list[str]) -> int:
    ensure_env("test")
    return run(BIN / "ruff", "check", "src", "tests", "bench") or run(
        PYTHON, "-m", "pytest", *extra_args
    )


def build() -> int:
    """A wheel in dist/ with pip's own PEP 517 front end (the same wheel as ``python -m
    build --wheel``, without needing the ``build`` package), then how to install it."""
    dist = ROOT / "dist"
    code = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
               "--wheel-dir", dist, ".")
    if code == 0:
        wheels = sorted(dist.glob("rewardsmith-*.whl"), key=lambda p: p.stat().st_mtime)
        print(f"\nbuilt {wheels[-1].relative_to(ROOT)}; install it in any Python >= 3.11 "
              f"environment with:\n  pip install {wheels[-1].relative_to(ROOT)}")
    return code


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "demo":
        sys.exit(demo())
    if command == "test":
        sys.exit(test(sys.argv[2:]))
    if command == "build":
        sys.exit(build())
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
