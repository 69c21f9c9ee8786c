"""Human-readable reports of scored runs: one self-contained HTML file."""

from rewardsmith.report.html import render_html_report, write_html_report

__all__ = ["render_html_report", "write_html_report"]
