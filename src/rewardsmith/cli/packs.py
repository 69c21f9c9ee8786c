"""``rewardsmith packs list|show|validate|schema|new|test``: rubric packs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from rewardsmith.cli.main import (
    EXIT_CHECKS_FAILED,
    EXIT_CONFIG,
    EXIT_OK,
    echo_json,
    fail,
    host_of,
)
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.pack import Pack


@click.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Registered packs, with version and the distribution that ships them."""
    from rewardsmith.core.pack import load_pack

    host = host_of(ctx)
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
        echo_json(rows)
        return
    for row in rows:
        status = row.get("version") or "INVALID"
        click.echo(f"{row['name']:<28} {status:<10} {row['distribution']:<28} "
                   f"{row.get('description') or row.get('error', '')}")


def _dumped(criteria: Any) -> list[dict[str, Any]] | None:
    """Built criteria as JSON, or None when the component has none of the usual kind."""
    if isinstance(criteria, list | tuple) and all(hasattr(c, "model_dump") for c in criteria):
        return [c.model_dump(mode="json", exclude_none=True) for c in criteria]
    return None


def plain_view(pack: Pack) -> dict[str, Any]:
    """``pack`` as written (:meth:`Pack.to_json`), except that a component with a
    ``criteria_file`` also lists the criteria that file holds, under
    ``criteria_from_file`` right after it: ``"criteria"`` holds only the inline ones, and
    an empty list there would otherwise read as a judge with nothing to judge. The file's
    criteria are the first ones the component was built with (they come before the inline
    ones, ``plugins/judges/calling.py`` ``configured_criteria``)."""
    data = pack.to_json()
    for row, component in zip(data.get("components", []), pack.components, strict=True):
        built = _dumped(getattr(component, "criteria", None))
        if not row.get("criteria_file") or built is None:
            continue
        from_file = built[:len(built) - len(row.get("criteria") or [])]
        rebuilt: dict[str, Any] = {}
        for key, value in row.items():
            rebuilt[key] = value
            if key == "criteria_file":
                rebuilt["criteria_from_file"] = from_file
        row.clear()
        row.update(rebuilt)
    return data


def effective_view(pack: Pack) -> dict[str, Any]:
    """``pack`` as it scores: :meth:`Pack.to_json` with, per component, the criteria it
    uses (from ``criteria`` and ``criteria_file`` merged, as built) and, per judge
    component, the effective judge settings (``[judge]`` defaults, then the component's
    ``judge`` overrides, then each backend default), under ``"effective"``."""
    data = pack.to_json()
    for row, component in zip(data.get("components", []), pack.components, strict=True):
        effective: dict[str, Any] = {}
        criteria = _dumped(getattr(component, "criteria", None))
        if criteria is not None:
            effective["criteria"] = criteria
        settings = getattr(component.context, "judge_defaults", None)
        if settings:
            effective["judge"] = settings
        if effective:
            row["effective"] = effective
    return data


@click.command("show")
@click.argument("pack")
@click.option("--effective", is_flag=True,
              help="Also show what each component scores with: its criteria (including "
                   "those from criteria_file) and its judge settings after the [judge] "
                   "defaults, its own overrides and the backend's defaults.")
@click.pass_context
def show_command(ctx: click.Context, pack: str, effective: bool) -> None:
    """The resolved pack (after `extends`) as JSON, with its content hash; a judge's
    criteria_file is shown with the criteria it holds (criteria_from_file)."""
    from rewardsmith.core.pack import load_pack

    try:
        loaded = load_pack(pack, host_of(ctx))
    except RewardsmithError as exc:
        fail(str(exc))
    echo_json(effective_view(loaded) if effective else plain_view(loaded))


@click.command("validate")
@click.argument("packs", nargs=-1, required=True)
@click.pass_context
def validate_command(ctx: click.Context, packs: tuple[str, ...]) -> None:
    """Validate packs by name or path; exit 2 if any is invalid."""
    from rewardsmith.core.pack import load_pack

    failed = 0
    for spec in packs:
        try:
            loaded = load_pack(spec, host_of(ctx))
        except RewardsmithError as exc:
            failed += 1
            click.echo(f"INVALID {spec}\n  {exc}", err=True)
            continue
        click.echo(f"ok {spec}: {loaded.name} {loaded.version} {loaded.hash} "
                   f"({len(loaded.components)} components)")
    if failed:
        sys.exit(EXIT_CONFIG)


@click.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def schema_command(ctx: click.Context, output: Path | None) -> None:
    """JSON Schema of the pack format for the installed plugins."""
    import orjson

    from rewardsmith.core.pack import pack_json_schema

    text = orjson.dumps(pack_json_schema(host_of(ctx)), option=orjson.OPT_INDENT_2).decode()
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@click.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path),
              default=Path(), show_default=".",
              help="Create the package directory NAME inside this directory (created if "
                   "missing).")
@click.option("--with-check", is_flag=True,
              help="Also scaffold a custom component (checks.py) and its tests.")
@click.option("--description", default=None, help="One line for the pack and the package.")
@click.pass_context
def new_command(ctx: click.Context, name: str, parent: Path, with_check: bool,
                description: str | None) -> None:
    """Scaffold a pip-installable rubric-pack package NAME (e.g. acme-support).

    NAME is the pack name and the distribution name; the module is NAME with underscores.
    The package has a starter pack of built-in checks, golden-case tests using
    rewardsmith's pytest fixtures, and a README. An existing directory is never touched.
    """
    from rewardsmith.scaffold.package import (
        ScaffoldError,
        check_unregistered,
        package_names,
        scaffold_package,
    )

    try:
        host = host_of(ctx)
        check_unregistered(package_names(name), packs=host.rubric_packs, plugins=host.infos)
        target = scaffold_package(name, parent, description=description, with_check=with_check)
    except ScaffoldError as exc:
        fail(str(exc))
    module = package_names(name).module
    click.echo(f"created {target}")
    click.echo(f"  pack     src/{module}/packs/{name}.toml")
    if with_check:
        click.echo(f"  check    src/{module}/checks.py")
    click.echo(f"  suite    src/{module}/packs/tests/{name}.jsonl  ([tests] in the pack)")
    click.echo("  tests    tests/test_pack.py")
    click.echo("next:")
    click.echo(f"  cd {target} && pip install -e '.[test]' && pytest")
    click.echo(f"  rewardsmith packs test {name}")


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
def suite_command(ctx: click.Context, pack: str, backend: str, record: Path | None,
                 replay: Path | None, report_path: Path | None, as_json: bool,
                 case_names: tuple[str, ...]) -> None:
    """Run the test suite of PACK (a registered name or a path): golden cases, probes that
    must score low, and pairs that must rank in order. Exit 1 if any case fails."""
    from rewardsmith.core.pack import load_pack
    from rewardsmith.packtest.loading import load_pack_suite
    from rewardsmith.packtest.runner import run_suite, select_cases
    from rewardsmith.report.suite import cases_section, text_report

    try:
        loaded = load_pack(pack, host_of(ctx))
        cases, settings = load_pack_suite(loaded)
        cases = select_cases(cases, case_names)
        report = run_suite(loaded, cases, backend=backend,  # type: ignore[arg-type]
                           simulator_verdicts=settings.simulator == "verdicts",
                           record=record, replay=replay)
    except RewardsmithError as exc:  # CassetteError and SuiteError among them
        fail(str(exc))

    if as_json:
        echo_json(report.to_json())
    else:
        click.echo(text_report(report))
    if report_path is not None:
        from rewardsmith.core.rollouts import response_excerpt
        from rewardsmith.report import write_html_report
        from rewardsmith.report.views import sample_context

        responses = {raw["id"]: text for case in report.cases for raw in case.samples
                     if (text := response_excerpt(raw)) is not None}
        contexts = {raw["id"]: ctx for case in report.cases for raw in case.samples
                    if (ctx := sample_context(raw)) is not None}
        write_html_report(report_path, pack_ref=report.pack, results=report.rows(),
                          title=f"rewardsmith packs test: {report.pack['name']}",
                          extra_sections=[cases_section(report)], responses=responses,
                          contexts=contexts)
        click.echo(f"report: {report_path}", err=True)
    sys.exit(EXIT_OK if report.passed else EXIT_CHECKS_FAILED)


def packs_group() -> click.Group:
    """A fresh ``packs`` group (a plugin may add to it without touching other CLIs)."""
    return click.Group("packs", commands=[list_command, show_command, validate_command,
                                          schema_command, new_command, suite_command],
                       help="List, show, validate rubric packs; export the pack format's "
                            "JSON Schema; scaffold a pack package; run a pack's test suite.")
