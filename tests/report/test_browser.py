"""The report rendered by a real headless browser (Debian's Chromium).

Skipped where /usr/bin/chromium is absent (install: apt-get install -y chromium).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from tests.support.browser import chromium, needs_chromium

from rewardsmith.report import write_html_report

pytestmark = needs_chromium


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


@pytest.fixture
def report(scored, tmp_path) -> Path:
    return write_html_report(tmp_path / "report.html", pack_ref=scored["pack_ref"],
                             results=scored["rows"], title="Browser check",
                             responses=scored["responses"])


def test_the_rendered_dom_has_the_plots_and_no_live_script(report, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    # reward histogram, 3 component histograms, pass rates, contributions
    assert dom.count("<svg") == 6
    assert dom.count("<rect") > 20 and "Lowest-scored samples" in dom
    # The hostile response neither ran nor became markup: the title is the report's own,
    # and the payload is text inside the page.
    assert "<title>Browser check</title>" in dom
    assert "PWNED</title>" not in dom
    assert dom.lower().count("<script") == 1  # the report's own table script
    assert "<img" not in dom.lower()
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom


def test_a_screenshot_is_taken(report, tmp_path):
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", report.as_uri())
    assert _png_size(shot) == (1200, 2000)
    assert shot.stat().st_size > 50_000  # a page of charts and text, not a blank canvas
