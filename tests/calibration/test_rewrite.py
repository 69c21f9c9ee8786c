from __future__ import annotations

import tomllib

import pytest
from tests.support import metadata_plugin as fixture_plugin
from tests.support.calibration_data import TRUE_WEIGHTS, make_synthetic

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.calibration import bump_version, calibrate, join, read_outcomes
from rewardsmith.calibration.rewrite import (
    calibration_evidence,
    extends_reference,
    render_calibrated_pack,
    write_calibrated_pack,
)
from rewardsmith.core.hookspecs import hookimpl


@pytest.mark.parametrize(("old", "new"), [
    ("1.2.0", "1.2.1-calibrated"),
    ("0.9.41", "0.9.42-calibrated"),
    ("1.2.1-calibrated", "1.2.2-calibrated"),
    ("2024-06", "2024-06-calibrated"),
])
def test_bump_version(old, new):
    assert bump_version(old) == new


def test_the_toml_writer_round_trips_awkward_values():
    evidence = {
        "note": 'quotes " and \\ backslash\nnew line\ttab \x7f del \x01 ctrl, ünïcode ✓',
        "nested": {"key with space": {"x": 1.5e-07, "flag": True, "ci": [-0.25, 0.5]}},
        "skipped": None,
        "empty": {},
        "notes": [],
    }
    text = render_calibrated_pack(name="p", version="1", extends="./base.toml",
                                  weights={"a": 0.1234567891}, evidence=evidence)
    data = tomllib.loads(text)
    got = data["pack"]["calibration"]
    assert got["note"] == evidence["note"]
    assert got["nested"]["key with space"] == {"x": 1.5e-07, "flag": True, "ci": [-0.25, 0.5]}
    assert "skipped" not in got and got["empty"] == {} and got["notes"] == []
    assert data["components"] == [{"id": "a", "weight": 0.123457}]


def _calibrated(tmp_path, host, pack_path, score_rows):
    syn = make_synthetic(n=400, seed=4)
    rows = score_rows(pack_path, syn.samples())
    outcomes_path = syn.write_outcomes(tmp_path / "outcomes.jsonl")
    pack = load_pack(pack_path, host)
    return pack, calibrate(pack, join(rows, read_outcomes(outcomes_path)), n_resamples=50)


def test_the_written_pack_loads_with_fitted_weights_and_evidence(
        tmp_path, host, pack_path, score_rows):
    pack, result = _calibrated(tmp_path, host, pack_path, score_rows)
    evidence = calibration_evidence(
        result, date="2026-01-02T03:04:05+00:00", outcome_field="outcome", seed=0,
        sources={"outcomes": {"path": "outcomes.jsonl", "sha256": "ab" * 32}})
    out = tmp_path / "calibrated" / "pack.toml"
    write_calibrated_pack(out, name=pack.name, version=bump_version(pack.version),
                          extends=extends_reference(str(pack_path), host, out),
                          weights=result.fit.weights, evidence=evidence)

    loaded = load_pack(out, host)
    assert (loaded.name, loaded.version) == ("synthetic", "1.2.1-calibrated")
    assert loaded.hash != pack.hash
    assert tomllib.loads(out.read_text())["pack"]["extends"] == "../pack.toml"
    weights = {c.config.id: c.config.weight for c in loaded.components}
    assert weights == pytest.approx(result.fit.weights, abs=1e-6)
    for cid, true in TRUE_WEIGHTS.items():
        assert weights[cid] == pytest.approx(true, abs=0.05)
    # Everything but the weights is inherited.
    assert [c.config.type for c in loaded.components] == ["metadata-score"] * 4
    assert loaded.description == pack.description

    cal = loaded.meta.calibration
    assert cal["method"] == "nnls" and cal["n_matched"] == 400 and cal["n_fit"] == 400
    assert cal["date"] == "2026-01-02T03:04:05+00:00"
    assert cal["previous_version"] == "1.2.0" and cal["previous_hash"] == pack.hash
    assert cal["sources"]["outcomes"]["sha256"] == "ab" * 32
    assert cal["weights"]["helpful"]["previous"] == pytest.approx(0.25)
    assert cal["weights"]["helpful"]["fitted"] == pytest.approx(weights["helpful"], abs=1e-6)
    reward = cal["correlations"]["reward"]
    assert reward["n"] == 400 and reward["spearman_ci"][0] < reward["spearman"]
    assert set(cal["correlations"]["components"]) == set(TRUE_WEIGHTS)


def test_undefined_correlations_are_recorded_with_their_reason(
        tmp_path, host, pack_path, score_rows):
    syn = make_synthetic(n=100, seed=5)
    samples = syn.samples()
    for s in samples:
        s["metadata"]["scores"]["concise"] = 1.0
    rows = score_rows(pack_path, samples)
    result = calibrate(load_pack(pack_path, host),
                       join(rows, read_outcomes(syn.write_outcomes(tmp_path / "o.jsonl"))),
                       n_resamples=20)
    evidence = calibration_evidence(result, date="d", outcome_field="outcome", seed=0,
                                    sources={})
    text = render_calibrated_pack(name="synthetic", version="x", extends="./pack.toml",
                                  weights=result.fit.weights, evidence=evidence)
    concise = tomllib.loads(text)["pack"]["calibration"]["correlations"]["components"]["concise"]
    assert "zero variance" in concise["spearman_undefined"]
    assert "spearman" not in concise


def test_a_registered_base_pack_is_extended_by_name(tmp_path, pack_path):
    class Packs:
        @hookimpl
        def register_rubric_packs(self, register):
            register("synthetic-base", pack_path)

    host = make_plugin_host(load_entry_points=False,
                            plugins=[("fixture", fixture_plugin), ("packs", Packs())])
    out = tmp_path / "elsewhere" / "cal.toml"
    assert extends_reference("synthetic-base", host, out) == "synthetic-base"
    write_calibrated_pack(out, name="synthetic", version="9", extends="synthetic-base",
                          weights={"helpful": 1.0, "grounded": 0, "concise": 0, "polite": 0},
                          evidence={"method": "nnls"})
    loaded = load_pack(out, host)
    assert [c.config.weight for c in loaded.components] == [1.0, 0, 0, 0]
    assert extends_reference(str(pack_path), host, tmp_path / "cal.toml") == "./pack.toml"
