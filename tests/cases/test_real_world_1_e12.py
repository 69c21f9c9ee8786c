"""../shared/cases/real-world-1.md (beside the project), cases E1 and E2 (the verl adapter):
one test per case, named after its id, asserting the value the cases file gives. The
adapter is called as verl >= 0.7's reward loop calls it (keywords, per sample; see
tests/trainers/test_verl.py for the call path, verl-project/verl v0.7.0 to 0.10.0.dev)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rewardsmith.trainers.verl import verl_compute_score, verl_compute_score_batch

SUITE = (Path(__file__).resolve().parents[2] / "src/rewardsmith/rubric_packs/tests/"
         "json-extraction.jsonl")


def _case(name: str) -> dict[str, object]:
    for line in SUITE.read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line).get("name") == name:
            return json.loads(line)["sample"]
    raise LookupError(name)


def _verl_kwargs(sample: dict[str, object]) -> dict[str, object]:
    messages = sample["messages"]
    assert isinstance(messages, list)
    return {"data_source": "invoices", "solution_str": messages[-1]["content"],
            "ground_truth": sample.get("reference_answer"),
            "extra_info": {"question": messages[-2]["content"], "index": sample["id"]}}


@pytest.mark.parametrize("order", ["gated_first", "passing_first"])
def test_E1_gated_and_passing_samples_return_the_same_keys(order: str) -> None:
    """One sample the JSON gate stops and one that passes every check (the pack's
    clean-invoice golden case): every dict has the same keys, in every order."""
    clean = _verl_kwargs(_case("clean-invoice"))
    gated = {**clean, "solution_str": "I could not find an invoice, sorry."}
    batch = [gated, clean] if order == "gated_first" else [clean, gated]
    fn = verl_compute_score("json-extraction")
    rows = [fn(**kwargs) for kwargs in batch]
    assert list(rows[0]) == list(rows[1]) == fn.keys
    by_status = {r["status"]: r for r in rows}
    assert by_status["gated"]["score"] == 0.0
    assert by_status["ok"]["score"] == pytest.approx(1.0)  # full marks, as the suite says
    # the batch form (verl < 0.7) gives the same rows
    batch_rows = verl_compute_score_batch("json-extraction")(
        [b["data_source"] for b in batch], [b["solution_str"] for b in batch],
        [b["ground_truth"] for b in batch], [b["extra_info"] for b in batch])
    assert batch_rows == rows


def test_E2_numpy_ground_truth_and_extra_info_score_like_plain_values(tmp_path: Path) -> None:
    pack = tmp_path / "e2.toml"
    pack.write_text("""
[pack]
name = "e2"
version = "1"

[[components]]
id = "fields"
type = "reference-match"
mode = "json_fields"
""")
    fn = verl_compute_score(str(pack))
    as_numpy = fn(data_source="d", solution_str='["a", "b"]',
                  ground_truth=np.array(["a", "b"]),
                  extra_info={"question": "q", "k": np.float64(0.5)})
    as_plain = fn(data_source="d", solution_str='["a", "b"]', ground_truth=["a", "b"],
                  extra_info={"question": "q", "k": 0.5})
    assert as_numpy == as_plain and as_numpy["fields"] == 1.0
