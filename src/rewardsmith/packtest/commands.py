"""``rewardsmith packs test PACK``: run a pack's test suite (golden cases, hackability
probes, ranked pairs) as a CI gate.

Registered through the same ``register_commands`` hook a third-party plugin would use; it
adds ``test`` to the built-in ``packs`` group. Exit codes: 0 every case passed, 1 some case
failed, 2 configuration error (pack, suite or cassette).

click is imported only when a CLI is built: the reward Lambda loads every installed plugin
module and must not pay for (or bundle) the CLI.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from rewardsmith.core.hookspecs import hookimpl

EXIT_OK = 0
EXIT_CASES_FAILED = 1
EXIT_CONFIG = 2


def build_command() -> Any:
    """The ``test`` click command (built on demand; see the module docstring)."""
    import click
    import orjson

    def _config_error(message: str) -> None:
        click.echo(f"error: {message}", err=True)
        sys.exit(EXIT_CONFIG)

    @click.command("test")
    @click.argument("pack")
    @click.option("--backend", type=click.Choice(["pack", "simulator"]), default="pack",
                  show_default=True, help="pack: the pack's real judge backend; simulator: an "
                  "in-process judge simulator answering with the cases' verdicts.")
    @click.option("--record", "record", type=click.Path(dir_okay=False, path_type=Path),
                  help="Store the run's judge exchanges in this cassette (JSONL).")
    @click.option("--replay", "replay", type=click.Path(dir_okay=False, path_type=Path),
                  help="Answer judge calls from this cassette only; no network.")
    @click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also write an HTML report with the per-case table.")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.option("--case", "case_names", multiple=True, metavar="NAME",
                  help="Run only this case (repeatable).")
    @click.pass_context
    def test_pack(ctx: click.Context, pack: str, backend: str, record: Path | None,
                  replay: Path | None, report_path: Path | None, as_json: bool,
                  case_names: tuple[str, ...]) -> None:
        """Run the test suite of PACK (a registered name or a path): golden cases, probes that
        must score low, and pairs that must rank in order. Exit 1 if any case fails."""
        from rewardsmith.core.errors import RewardsmithError
        from rewardsmith.core.pack import load_pack
        from rewardsmith.packtest.cassette import CassetteError
        from rewardsmith.packtest.loading import load_pack_suite
        from rewardsmith.packtest.runner import run_suite, select_cases
        from rewardsmith.report.suite import cases_section, text_report

        host = (ctx.obj or {}).get("host") if ctx.obj else None
        try:
            loaded = load_pack(pack, host)
            cases, settings = load_pack_suite(loaded)
            cases = select_cases(cases, case_names)
            report = run_suite(loaded, cases, backend=backend,  # type: ignore[arg-type]
                               simulator_verdicts=settings.simulator == "verdicts",
                               record=record, replay=replay)
        except (RewardsmithError, CassetteError) as exc:
            _config_error(str(exc))
            return

        if as_json:
            click.echo(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
        else:
            click.echo(text_report(report))
        if report_path is not None:
            from rewardsmith.core.rollouts import response_excerpt
            from rewardsmith.report import write_html_report

            responses = {raw["id"]: text for case in report.cases for raw in case.samples
                         if (text := response_excerpt(raw)) is not None}
            write_html_report(report_path, pack_ref=report.pack, results=report.rows(),
                              title=f"rewardsmith packs test: {report.pack['name']}",
                              extra_sections=[cases_section(report)], responses=responses)
            click.echo(f"report: {report_path}", err=True)
        sys.exit(EXIT_OK if report.passed else EXIT_CASES_FAILED)

    return test_pack


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``test`` to the ``packs`` group (``rewardsmith packs test PACK``)."""
    import click

    packs = cli.commands.get("packs")
    if not isinstance(packs, click.Group):
        return
    command = build_command()
    # Extend a copy: the built-in group is shared by every CLI built in this process.
    extended = copy.copy(packs)
    extended.commands = {**packs.commands, command.name: command}
    cli.commands["packs"] = extended
