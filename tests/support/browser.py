"""Pages rendered by a real headless browser (Debian's Chromium at /usr/bin/chromium).

Tests using :func:`dump_dom` carry :data:`needs_chromium` (skipped where it is absent;
install: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a throwaway profile under ``tmp_path``."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    try:
        return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(tmp_path: Path, page: Path, *, run_scripts: bool = False) -> str:
    """The DOM of ``page`` after Chromium loaded it (and ran its scripts, with a virtual
    time budget, when ``run_scripts``)."""
    extra = ["--virtual-time-budget=3000"] if run_scripts else []
    return chromium(tmp_path, *extra, "--dump-dom", page.as_uri()).stdout
