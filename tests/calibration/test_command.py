from __future__ import annotations

import tomllib

import orjson
import pytest
from click.testing import CliRunner
from tests.support import metadata_plugin as fixture_plugin
from tests.support.calibration_data import TRUE_WEIGHTS, make_synthetic

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.cli import build_cli


@pytest.fixture
def run():
    host = make_plugin_host(load_entry_points=False, plugins=[
        ("fixture", fixture_plugin)])
    group = build_cli(host)

    def invoke(*args: str):
        return CliRunner().invoke(group, ["calibrate", *map(str, args)], obj={"host": host})

    invoke.host = host
    return invoke


@pytest.fixture
def dataset(tmp_path, pack_path, score_rows):
    syn = make_synthetic(n=300, seed=6)
    samples = syn.samples()
    (tmp_path / "rollouts.jsonl").write_bytes(b"".join(orjson.dumps(s) + b"\n"
                                                       for s in samples))
    rows = score_rows(pack_path, samples)
    (tmp_path / "scored.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    syn.write_outcomes(tmp_path / "outcomes.jsonl")
    return tmp_path


def test_calibrate_scored_rows_writes_a_loadable_pack_and_a_report(run, dataset, pack_path):
    out, report = dataset / "new" / "pack.toml", dataset / "report.html"
    result = run(pack_path, "--outcomes", dataset / "outcomes.jsonl", "--scored",
                 dataset / "scored.jsonl", "-o", out, "--report", report, "--bootstrap", 50)
    assert result.exit_code == 0, result.output
    assert "rank correlation with the outcome" in result.output
    assert "spearman [95% CI]" in result.output
    assert f"wrote {out}: synthetic 1.2.1-calibrated" in result.output
    loaded = load_pack(out, run.host)
    for c in loaded.components:
        assert c.config.weight == pytest.approx(TRUE_WEIGHTS[c.config.id], abs=0.05)
    sources = loaded.meta.calibration["sources"]
    assert set(sources) == {"scored", "outcomes"}
    assert len(sources["scored"]["sha256"]) == 64
    html = report.read_text()
    assert "Calibration against observed outcomes" in html and "<svg" in html


def test_calibrate_rollouts_json_output_and_explicit_version(run, dataset, pack_path):
    out = dataset / "v2.toml"
    result = run(pack_path, "--outcomes", dataset / "outcomes.jsonl", "--rollouts",
                 dataset / "rollouts.jsonl", "--json", "--bootstrap", 30, "-o", out,
                 "--version", "2.0.0")
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.output)
    assert data["n_matched"] == 300
    assert data["written"]["pack"]["version"] == "2.0.0"
    assert data["correlations"]["reward"]["spearman"]["ci"][0] < \
        data["correlations"]["reward"]["spearman"]["value"]
    assert set(data["fit"]["weights"]) == set(TRUE_WEIGHTS)
    assert "rollouts" in tomllib.loads(out.read_text())["pack"]["calibration"]["sources"]


def test_unmatched_ids_are_reported(run, dataset, pack_path):
    lines = (dataset / "outcomes.jsonl").read_text().splitlines()
    (dataset / "partial.jsonl").write_text("\n".join([*lines[5:], '{"id": "zz", "outcome": 1}']))
    result = run(pack_path, "--outcomes", dataset / "partial.jsonl", "--scored",
                 dataset / "scored.jsonl", "--bootstrap", 0)
    assert result.exit_code == 0, result.output
    assert "5 scored samples without an outcome (ids 's0', 's1', 's2', 's3', 's4')" \
        in result.output
    assert "1 outcomes without a scored sample (ids 'zz')" in result.output


@pytest.mark.parametrize(("outcomes", "message"), [
    ('{"id": "s0", "outcome": "high"}', "outcomes.jsonl:1: 'outcome' must be a number"),
    ('{"id": "s0", "outcome": 1}\n{"id": "s1", "outcome": 2}',
     "only 2 scored samples have an outcome; calibration needs at least 10"),
    ('{"outcome": 1}', "outcomes.jsonl:1: the row has no 'id'"),
])
def test_bad_outcomes_exit_2_with_the_reason(run, dataset, pack_path, outcomes, message):
    (dataset / "outcomes.jsonl").write_text(outcomes)
    result = run(pack_path, "--outcomes", dataset / "outcomes.jsonl", "--scored",
                 dataset / "scored.jsonl")
    assert result.exit_code == 2
    assert message in result.output


def test_exactly_one_source_of_scores(run, dataset, pack_path):
    both = run(pack_path, "--outcomes", dataset / "outcomes.jsonl", "--scored",
               dataset / "scored.jsonl", "--rollouts", dataset / "rollouts.jsonl")
    neither = run(pack_path, "--outcomes", dataset / "outcomes.jsonl")
    for result in (both, neither):
        assert result.exit_code == 2
        assert "give exactly one of --scored" in result.output


def test_a_formula_pack_reports_correlations_but_writes_no_weights(run, dataset, tmp_path):
    formula = tmp_path / "formula.toml"
    formula.write_text((tmp_path / "pack.toml").read_text() + "\n[aggregate]\nmethod = "
                       '"formula"\nformula = "helpful * grounded"\n')
    ok = run(formula, "--outcomes", dataset / "outcomes.jsonl", "--scored",
             dataset / "scored.jsonl", "--bootstrap", 0)
    assert ok.exit_code == 0 and "weights do not apply" in ok.output
    refused = run(formula, "--outcomes", dataset / "outcomes.jsonl", "--scored",
                  dataset / "scored.jsonl", "--bootstrap", 0, "-o", tmp_path / "x.toml")
    assert refused.exit_code == 2 and "no weights were fitted" in refused.output


def test_a_written_pack_that_does_not_load_is_reported_after_the_analysis(
        run, dataset, pack_path):
    out = dataset / "bad.toml"
    result = run(pack_path, "--outcomes", dataset / "outcomes.jsonl", "--scored",
                 dataset / "scored.jsonl", "--bootstrap", 0, "-o", out, "--version", "")
    assert result.exit_code == 2
    assert "rank correlation with the outcome" in result.output  # the analysis is not lost
    assert f"error: wrote {out}, but it does not load" in result.output
    assert "pack.version" in result.output
