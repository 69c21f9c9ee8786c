"""Issue 15, installation as users do it: build the wheel, install it into a fresh venv
without the repository, list the packs (every built-in one valid), scaffold a pack package
and run its ``packs test`` and ``pytest``, before and after ``pip install -e`` of it.

Kept fast and offline: the new venv gets rewardsmith only from the wheel (``pip install
--no-deps dist/*.whl``); its dependencies are the ones this test run already has, reached
through a ``.pth`` line naming a folder of links to this venv's site-packages entries with
every trace of rewardsmith left out (its package, dist-info and editable-install hooks), so
nothing of the checkout is importable there. ``pip check`` then proves the wheel's declared
requirements are all satisfied by that set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path, env: dict[str, str], timeout: float = 600
         ) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout, check=False)
    assert run.returncode == 0, f"{args}:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return run


def _dependencies_without_rewardsmith(farm: Path) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    farm.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if "rewardsmith" in name or name.endswith(".pth") or name == "__pycache__":
            continue  # the checkout's editable install, and every path hook
        (farm / entry.name).symlink_to(entry)


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_a_scaffold_passes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "REWARDSMITH_PLUGINS")}
    # 1. the wheel, as `python3 dev.py build` makes it
    _run(sys.executable, ROOT / "dev.py", "build", cwd=tmp_path, env=env)
    wheels = sorted((ROOT / "dist").glob("rewardsmith-*.whl"), key=lambda p: p.stat().st_mtime)
    assert wheels, "dev.py build wrote no wheel"

    # 2. a fresh venv: rewardsmith from the wheel only
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(home)  # this run's pip installs into it (--python)
    python = home / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=tmp_path, env=env).stdout.strip()
    farm = tmp_path / "deps"
    _dependencies_without_rewardsmith(farm)
    (Path(purelib) / "test-run-deps.pth").write_text(f"{farm}\n", encoding="utf-8")
    pip = (sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check")
    _run(*pip, "install", "--no-deps", "--no-index", "-q", wheels[-1], cwd=tmp_path, env=env)
    _run(*pip, "check", cwd=tmp_path, env=env)
    where = _run(python, "-c", "import rewardsmith; print(rewardsmith.__file__)",
                 cwd=tmp_path, env=env).stdout.strip()
    assert where.startswith(purelib) and not where.startswith(str(ROOT)), where

    # 3. every built-in pack valid
    rewardsmith = home / "bin" / "rewardsmith"
    listed = _run(rewardsmith, "packs", "list", cwd=tmp_path, env=env).stdout
    for name in ("json-extraction", "contract-review", "customer-support", "tool-calling"):
        assert any(line.split()[:2] == [name, "1.0.0"] for line in listed.splitlines()), listed
    assert "INVALID" not in listed

    # 4. a scaffold whose own suite passes: `packs test` and `pytest`
    _run(rewardsmith, "packs", "new", "acme-support", "--dir", tmp_path / "work" / "packs",
         cwd=tmp_path, env=env)
    package = tmp_path / "work" / "packs" / "acme-support"
    suite = _run(rewardsmith, "packs", "test", "src/acme_support/packs/acme-support.toml",
                 cwd=package, env=env).stdout
    assert "8 passed, 0 failed" in suite, suite
    tests = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package,
                 env=env).stdout
    assert "9 passed" in tests, tests

    # 5. the scaffold's printed next step: `pip install -e .` then `pytest`. Installed, its
    # entry point and the tests' in-process registration name the same plugin; the suite
    # must still pass (offline: no index, the build backend from the test run's deps).
    _run(*pip, "install", "--no-deps", "--no-index", "--no-build-isolation", "-q", "-e",
         package, cwd=tmp_path, env=env)
    installed = _run(python, "-c", "import acme_support; print(acme_support.__file__)",
                     cwd=tmp_path, env=env).stdout.strip()
    assert installed.startswith(str(package / "src")), installed
    listed = _run(rewardsmith, "packs", "list", cwd=tmp_path, env=env).stdout
    assert any(line.split()[:2] == ["acme-support", "0.1.0"] for line in listed.splitlines()), \
        listed
    tests = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package,
                 env=env).stdout
    assert "9 passed" in tests, tests
