"""Human-readable reports of scored runs.

- :mod:`.html` (with :mod:`.digest` and :mod:`.svg`): one self-contained HTML file;
- :mod:`.summary`: the ``rewardsmith score`` summary table for the terminal;
- :mod:`.suite`: a pack test run as text and as a section of the HTML report;
- :mod:`.calibration`: a calibration result as a terminal table.
"""

from rewardsmith.report.html import render_html_report, write_html_report

__all__ = ["render_html_report", "write_html_report"]
