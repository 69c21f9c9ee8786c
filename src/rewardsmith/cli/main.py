"""The ``rewardsmith`` command. Plugins add subcommands through ``register_commands``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import click
import orjson

from rewardsmith import __version__
from rewardsmith.core.errors import PackError, PluginError, RewardsmithError
from rewardsmith.core.logs import configure_logging
from rewardsmith.core.plugins import KINDS, PluginHost, make_plugin_host
from rewardsmith.report.summary import summary_table

# Exit codes: 0 every sample scored; 2 usage, pack or plugin error; 3 finished, but some
# samples could not be scored (their rows are in the output, marked failed).
EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_SAMPLES_FAILED = 3


def _host(ctx: click.Context) -> PluginHost:
    host: PluginHost = ctx.obj["host"]
    return host


def _fail(message: str, code: int = EXIT_CONFIG) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(__version__, prog_name="rewardsmith")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--log-json", is_flag=True, help="Structured JSON logs on stderr.")
@click.pass_context
def cli(ctx: click.Context, log_level: str, log_json: bool) -> None:
    """Compose and run reward functions for RL fine-tuning."""
    configure_logging(level=log_level, json=log_json)


# -- plugins ----------------------------------------------------------------------------
@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins and what each provides."""
    host = _host(ctx)
    rows = {name: {**info._asdict(), **{kind: [] for kind in KINDS}}
            for name, info in host.infos.items()}
    for kind in KINDS:  # what each plugin provides, from the host's registries
        for key, registered in getattr(host, kind).items():
            rows[registered.plugin][kind].append(key)
    infos = list(rows.values())
    if as_json:
        click.echo(orjson.dumps(infos, option=orjson.OPT_INDENT_2).decode())
        return
    for info in infos:
        version = f" {info['version']}" if info["version"] else ""
        click.echo(f"{info['name']}  ({info['distribution']}{version})")
        for kind in KINDS:
            if info[kind]:
                click.echo(f"    {kind.replace('_', ' ')}: {', '.join(info[kind])}")


# -- packs ------------------------------------------------------------------------------
@cli.group("packs")
def packs_group() -> None:
    """List, show, validate rubric packs; export the pack format's JSON Schema."""


@packs_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def packs_list(ctx: click.Context, as_json: bool) -> None:
    """Registered packs, with version and the distribution that ships them."""
    from rewardsmith.core.pack import load_pack

    host = _host(ctx)
    rows: list[dict[str, Any]] = []
    for name, reg in sorted(host.rubric_packs.items()):
        row: dict[str, Any] = {"name": name, "distribution": reg.distribution}
        try:
            pack = load_pack(name, host)
            row.update(version=pack.version, description=pack.description, hash=pack.hash)
        except RewardsmithError as exc:
            row["error"] = str(exc)
        rows.append(row)
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        status = row.get("version") or "INVALID"
        click.echo(f"{row['name']:<28} {status:<10} {row['distribution']:<28} "
                   f"{row.get('description') or row.get('error', '')}")


@packs_group.command("show")
@click.argument("pack")
@click.pass_context
def packs_show(ctx: click.Context, pack: str) -> None:
    """The resolved pack (after `extends`) as JSON, with its content hash."""
    from rewardsmith.core.pack import load_pack

    try:
        loaded = load_pack(pack, _host(ctx))
    except RewardsmithError as exc:
        _fail(str(exc))
        return
    click.echo(orjson.dumps(loaded.to_json(), option=orjson.OPT_INDENT_2).decode())


@packs_group.command("validate")
@click.argument("packs", nargs=-1, required=True)
@click.pass_context
def packs_validate(ctx: click.Context, packs: tuple[str, ...]) -> None:
    """Validate packs by name or path; exit 2 if any is invalid."""
    from rewardsmith.core.pack import load_pack

    failed = 0
    for spec in packs:
        try:
            loaded = load_pack(spec, _host(ctx))
        except RewardsmithError as exc:
            failed += 1
            click.echo(f"INVALID {spec}\n  {exc}", err=True)
            continue
        click.echo(f"ok {spec}: {loaded.name} {loaded.version} {loaded.hash} "
                   f"({len(loaded.components)} components)")
    if failed:
        sys.exit(EXIT_CONFIG)


@packs_group.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def packs_schema(ctx: click.Context, output: Path | None) -> None:
    """JSON Schema of the pack format for the installed plugins."""
    from rewardsmith.core.pack import pack_json_schema

    text = orjson.dumps(pack_json_schema(_host(ctx)), option=orjson.OPT_INDENT_2).decode()
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


# -- score ------------------------------------------------------------------------------
@cli.command("score")
@click.argument("rollouts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pack", "pack_spec", required=True, help="A registered pack name or a path.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write result rows here (JSONL). Default: stdout.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1))
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True),
              help="Per-batch deadline in seconds; pending judge calls are abandoned.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@click.option("--summary/--no-summary", default=True, show_default=True,
              help="Print the summary table on stderr.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report (distributions, failures, the "
                   "lowest- and highest-scored samples with rationales).")
@click.pass_context
def score_command(ctx: click.Context, rollouts: Path, pack_spec: str, output: Path | None,
                  batch_size: int, timeout_s: float | None, progress: bool | None,
                  summary: bool, report_path: Path | None) -> None:
    """Score RFT rollouts (JSONL, one sample per line) with a pack.

    Each output row is the reward-Lambda result shape plus details. A malformed line gets
    a failed row (with its line number in the error) and the rest are scored normally.
    """
    from rewardsmith.core.engine import Scorer
    from rewardsmith.core.pack import load_pack
    from rewardsmith.core.rollouts import count_lines, encode_row, read_rollouts, response_excerpt

    try:
        scorer = Scorer(load_pack(pack_spec, _host(ctx)))
    except RewardsmithError as exc:
        _fail(str(exc))
        return

    show_progress = sys.stderr.isatty() if progress is None else progress
    out: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    results = []
    responses: dict[object, str] = {}
    try:
        total = count_lines(rollouts) if show_progress else None
        with click.progressbar(length=total or 0, label="scoring", file=sys.stderr,
                               hidden=not show_progress) as bar:
            for batch in read_rollouts(rollouts, batch_size):
                scored = scorer.score(batch, timeout_s=timeout_s)
                for result in scored.results:
                    out.write(encode_row(result.to_json()) + "\n")
                results.extend(scored.results)
                if report_path:
                    for raw, result in zip(batch, scored.results, strict=True):
                        excerpt = response_excerpt(raw)
                        if excerpt is not None:
                            responses[result.id] = excerpt
                bar.update(len(batch))
    finally:
        if output:
            out.close()
        scorer.close()

    if summary:
        click.echo(summary_table(scorer.pack, results), err=True)
    if report_path:
        from rewardsmith.report import write_html_report

        write_html_report(report_path, pack_ref=scorer.pack.ref.to_json(),
                          results=[r.to_json() for r in results],
                          title=f"rewardsmith score: {rollouts.name}", responses=responses)
        click.echo(f"report: {report_path}", err=True)
    failed = sum(r.status == "failed" for r in results)
    if failed:
        click.echo(f"{failed} of {len(results)} samples could not be scored "
                   "(rows marked \"status\": \"failed\")", err=True)
        sys.exit(EXIT_SAMPLES_FAILED)


def build_cli(host: PluginHost) -> click.Group:
    """A fresh command group with the built-in commands plus those the plugins add."""
    group = click.Group(name="rewardsmith", commands=dict(cli.commands), params=list(cli.params),
                        callback=cli.callback, help=cli.help)
    host.add_commands(group)
    return group


def main(argv: list[str] | None = None) -> None:
    """Console entry point: load plugins, let them add commands, run."""
    try:
        host = make_plugin_host()
        group = build_cli(host)
    except (PluginError, PackError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    group.main(args=argv, prog_name="rewardsmith", obj={"host": host})


if __name__ == "__main__":
    main()
