"""A throw-away virtual environment with the example packages pip-installed into it.

The venv is created without pip (fast) and sees the test environment's site-packages
(rewardsmith and its dependencies) through a ``.pth`` file, so only the example
distributions are built and installed, by the test environment's own pip
(``pip --python``), as real wheels. One install per test session.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXAMPLE_CHECK = EXAMPLES / "rewardsmith-example-check"
EXAMPLE_PACK = EXAMPLES / "rewardsmith-example-pack"
PIP_TIMEOUT_S = 300
RUN_TIMEOUT_S = 120


@dataclass
class ExampleEnv:
    root: Path
    python: Path
    install_seconds: float
    examples: Path = EXAMPLES

    def env(self, **overrides: str) -> dict[str, str]:
        # Isolate from whatever the developer's shell restricts or allows.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REWARDSMITH_")}
        env.update(overrides)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run this venv's Python with ``args``."""
        return subprocess.run(
            [str(self.python), *args], capture_output=True, text=True,
            timeout=RUN_TIMEOUT_S, env=env or self.env(), cwd=cwd or self.root, check=False,
        )

    def cli(self, *args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the ``rewardsmith`` command in this venv."""
        return self.run("-m", "rewardsmith.cli", *args, env=env, cwd=cwd)

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return pip(self.python, *args)

    def install_local(self, *projects: Path) -> None:
        pip_install_local(self.python, *projects)


def pip(target_python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The test environment's pip, acting on ``target_python``'s environment."""
    command = [sys.executable, "-m", "pip", "--python", str(target_python),
               "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                            check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def pip_install_local(target_python: Path, *projects: Path) -> None:
    """Build and install local projects offline, with the venv's own build backend
    (one hatchling install serves every build, instead of an isolated env per project).
    """
    pip(target_python, "install", "--no-build-isolation", "--no-index",
        *(str(p) for p in projects))


def ensure_build_backend(target_python: Path) -> None:
    probe = subprocess.run([str(target_python), "-c", "import hatchling"],
                           capture_output=True, timeout=RUN_TIMEOUT_S, check=False)
    if probe.returncode != 0:  # not in the test environment either: fetch it once
        pip(target_python, "install", "hatchling>=1.24")


def _host_site_dirs() -> list[str]:
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"],
            sysconfig.get_paths()["platlib"]]
    return list(dict.fromkeys(d for d in dirs if Path(d).is_dir()))


def make_venv(root: Path) -> Path:
    """A pip-less venv that also sees the test environment's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=RUN_TIMEOUT_S)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=RUN_TIMEOUT_S,
    ).stdout.strip()
    # addsitedir (not a bare path) so the host's own .pth files, e.g. an editable
    # rewardsmith install, are processed too.
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in _host_site_dirs())
    Path(purelib, "_rewardsmith_test_host.pth").write_text(lines, encoding="utf-8")
    return python


@pytest.fixture(scope="session")
def example_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleEnv]:
    root = tmp_path_factory.mktemp("third_party")
    started = time.perf_counter()
    python = make_venv(root / "venv")
    # Dependencies are resolved, not skipped: the pack's requirement on the check
    # package is satisfied by the sibling in the same command, rewardsmith by the host.
    ensure_build_backend(python)
    pip_install_local(python, EXAMPLE_CHECK, EXAMPLE_PACK)
    yield ExampleEnv(root, python, time.perf_counter() - started)


def _write_package(root: Path, dist: str, module: str, source: str,
                  entry_points: dict[str, dict[str, str]]) -> Path:
    """A minimal src-layout hatchling package, for plugins made up by a test."""
    project = root / dist
    (project / "src" / module).mkdir(parents=True)
    groups = "".join(
        f'\n[project.entry-points."{group}"]\n'
        + "".join(f'{name} = "{value}"\n' for name, value in eps.items())
        for group, eps in entry_points.items()
    )
    (project / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling>=1.24"]
        build-backend = "hatchling.build"

        [project]
        name = "{dist}"
        version = "0.0.1"
        requires-python = ">=3.11"
        """) + groups + textwrap.dedent(f"""
        [tool.hatch.build.targets.wheel]
        packages = ["src/{module}"]
        """), encoding="utf-8")
    (project / "src" / module / "__init__.py").write_text(source, encoding="utf-8")
    return project


@pytest.fixture
def make_package() -> Any:
    """``make_package(root, dist, module, source, entry_points) -> project dir``."""
    return _write_package
