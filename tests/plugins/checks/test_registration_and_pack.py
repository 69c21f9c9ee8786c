"""The checks plugin through its entry point, and the json-extraction demo pack end to end."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from importlib.resources import files
from pathlib import Path

import pytest

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.errors import PackError
from rewardsmith.core.wire import jsonl_row, metrics_list

CHECK_TYPES = {
    "json-valid", "json-schema", "required-fields", "length", "language-match", "regex",
    "keywords", "reference-match", "repetition", "unicode-hygiene", "pii", "tool-call-valid",
    "grounding", "injection",
    # agent checks over trajectories (issue 12)
    "tool-efficiency", "premature-answer", "turn-budget", "task-success", "tool-claims",
}
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "rollouts" / \
    "json-extraction.jsonl"


@pytest.fixture(scope="module")
def host():
    return make_plugin_host(allow=["checks", "packs"])


@pytest.fixture(scope="module")
def scored(host):
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    scorer = Scorer(load_pack("json-extraction", host))
    try:
        batch = scorer.score(rows)
    finally:
        scorer.close()
    return rows, batch


def test_every_check_registers_through_the_entry_point(host):
    registered = {name for name, reg in host.components.items() if reg.plugin == "checks"}
    assert registered == CHECK_TYPES
    for name in CHECK_TYPES:
        cls = host.components[name].value
        assert cls.summary, name
        assert cls.Config.model_config.get("extra") == "forbid", name


def test_pack_loads_with_description_and_file_hash(host):
    pack = load_pack("json-extraction", host)
    assert pack.version == "1.0.0" and "Invoice" in pack.description
    assert pack.reward_range == (0.0, 1.0)
    assert [c.config.id for c in pack.components if c.config.gate] == [
        "json", "injection", "unicode", "repetition", "grounded"]


def _copy_pack(tmp_path: Path) -> Path:
    source = files("rewardsmith.rubric_packs")
    (tmp_path / "schemas").mkdir()
    shutil.copyfile(str(source / "json-extraction.toml"), tmp_path / "json-extraction.toml")
    shutil.copyfile(str(source / "schemas" / "invoice.schema.json"),
                    tmp_path / "schemas" / "invoice.schema.json")
    return tmp_path / "json-extraction.toml"


def test_pack_hash_covers_the_schema_file(host, tmp_path):
    path = _copy_pack(tmp_path)
    before = load_pack(path, host).hash
    schema_path = tmp_path / "schemas" / "invoice.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["properties"]["notes"]["maxLength"] = 500
    schema_path.write_text(json.dumps(schema))
    assert load_pack(path, host).hash != before


def test_invalid_schema_file_fails_at_load_naming_the_component(host, tmp_path):
    path = _copy_pack(tmp_path)
    (tmp_path / "schemas" / "invoice.schema.json").write_text('{"type": "objekt"}')
    with pytest.raises(PackError, match=r"id='schema'.*not a valid JSON Schema"):
        load_pack(path, host)


def test_missing_schema_file_fails_at_load(host, tmp_path):
    path = _copy_pack(tmp_path)
    (tmp_path / "schemas" / "invoice.schema.json").unlink()
    with pytest.raises(PackError, match="id='schema'"):
        load_pack(path, host)


def test_bad_check_config_in_a_pack_is_named(host, tmp_path):
    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\nversion = "1"\n\n[[components]]\nid = "r"\n'
                    'type = "regex"\nforbid = ["(unclosed"]\n')
    with pytest.raises(PackError, match=r"id='r' \(regex\): forbid\[0\]: invalid regular"):
        load_pack(pack, host)
    pack.write_text('[pack]\nname = "p"\nversion = "1"\n\n[[components]]\nid = "k"\n'
                    'type = "keywords"\nrequried = ["x"]\n')
    with pytest.raises(PackError, match="did you mean 'required'"):
        load_pack(pack, host)


def test_examples_cover_the_advertised_defects(scored):
    rows, _ = scored
    defects = {row["metadata"]["defect"] for row in rows}
    assert {"invalid_json", "schema_violation", "hallucinated_values", "repeated_items",
            "strange_unicode", "injection", "fake_verdict", "role_tags",
            "overlong_padding"} <= defects
    prompts = defaultdict(list)
    for row in rows:
        prompts[row["messages"][1]["content"]].append(row)
    assert len(rows) == 24 and all(len(group) == 4 for group in prompts.values())


def test_good_rollouts_beat_bad_ones_per_prompt(scored):
    rows, batch = scored
    by_prompt: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row, result in zip(rows, batch.results, strict=True):
        assert result.id == row["id"]
        by_prompt[result.group_key][row["metadata"]["expected_quality"]].append(
            result.reward)
    for groups in by_prompt.values():
        assert groups["good"] and groups["bad"]
        assert min(groups["good"]) > max(groups["bad"])
        assert min(groups["good"]) >= 0.8
        assert max(groups["bad"]) <= 0.75


@pytest.mark.parametrize(("defect", "gate"), [
    ("invalid_json", "json"),
    ("prose_wrapped", "json"),
    ("injection", "injection"),
    ("fake_verdict", "injection"),
    ("role_tags", "injection"),
    ("strange_unicode", "unicode"),
    ("repeated_items", "repetition"),
    ("overlong_padding", "repetition"),  # the padding is one sentence, looped
    ("hallucinated_values", "grounded"),
])
def test_each_defect_is_stopped_by_the_right_gate(scored, defect, gate):
    rows, batch = scored
    results = [r for row, r in zip(rows, batch.results, strict=True)
               if row["metadata"]["defect"] == defect]
    assert results
    for result in results:
        assert result.status == "gated" and result.gate == gate, jsonl_row(result)


def test_soft_defects_lower_the_weighted_components(scored):
    rows, batch = scored
    for row, result in zip(rows, batch.results, strict=True):
        if row["metadata"]["defect"] == "schema_violation":
            assert result.components["schema"].value == 0.0


def test_results_carry_per_check_metrics(scored):
    _, batch = scored
    names = {m["name"] for m in metrics_list(batch.results[0])}
    assert {"fields", "grounded", "schema", "fields.matched", "unicode.total"} <= names
    assert batch.summary()["failed_samples"] == 0
