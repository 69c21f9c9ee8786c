"""Scoring on Ray Data, against a local Ray instance the tests start (``ray.init`` with
two CPUs, no dashboard), compared with the one-process ``rewardsmith score``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support import toy_plugin

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.cli import build_cli
from rewardsmith.core.rollouts import read_rollouts
from rewardsmith.core.wire import jsonl_row
from rewardsmith.scale.ray import group_rows, score_rollouts_ray

TOY_PACK = """
[pack]
name = "ray-toy"
version = "1"

[[components]]
id = "nonempty"
type = "non-empty"
gate = { fail_reward = 0.0 }

[[components]]
id = "rank"
type = "length-rank"
"""


def _line(prompt: str, response: str, **extra: object) -> str:
    return json.dumps({"messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": response}], **extra})


def test_group_rows_keep_every_group_whole_in_first_seen_order() -> None:
    lines = [(1, _line("a", "x").encode()), (2, _line("b", "xy").encode()),
             (3, b"{not json"), (4, _line("a", "xyz").encode()), (6, b"[1, 2]"),
             (7, _line("b", "").encode())]
    rows = group_rows(lines, batch_size=2)
    assert [json.loads(r["indices"]) for r in rows] == [[0, 3], [1, 5], [2], [4]]
    assert [n for n, _ in json.loads(rows[0]["lines"])] == [1, 4]
    with pytest.raises(ValueError, match="batch_size"):
        group_rows(lines, batch_size=0)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _rollouts(path: Path, groups: int, per_group: int) -> Path:
    """Groups interleaved across the file (rollout i of every prompt, then i + 1), so a
    file-order batching would split every group."""
    lines = [_line(f"prompt {g}", "r" * (1 + (g * 7 + i * 3) % 11), id=f"g{g}-{i}")
             for i in range(per_group) for g in range(groups)]
    lines.insert(5, "{broken")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ray_keeps_groups_whole_and_writes_score_rows_in_input_order(
        local_ray: None, tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text(TOY_PACK)
    rollouts = _rollouts(tmp_path / "rollouts.jsonl", groups=12, per_group=4)
    out = io.StringIO()
    summary = score_rollouts_ray(rollouts, str(pack), out, batch_size=8, actors=2,
                                 plugin_modules=["tests.support.toy_plugin"])
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert summary.samples == len(rows) == 49 and summary.actors == 2
    assert summary.failed == 1 and rows[5]["status"] == "failed"
    assert "line 6" in rows[5]["error"]
    ids = [r["id"] for r in rows if r["status"] != "failed"]
    assert ids == [f"g{g}-{i}" for i in range(4) for g in range(12)]  # input order
    for row in rows:
        if row["status"] == "ok":  # every rank saw the whole group of four
            assert row["components"]["rank"]["measurements"]["group_size"] == 4
    # The same file in one process, as one batch (no group split), gives the same rewards
    host = make_plugin_host(plugins=[("toy", toy_plugin)])
    scorer = Scorer(load_pack(str(pack), host))
    local = [jsonl_row(r) for batch in read_rollouts(rollouts, 1000)
             for r in scorer.score(batch).results]
    assert [r["aggregate_reward_score"] for r in rows] == \
        [r["aggregate_reward_score"] for r in local]


def _score(args: list[str]):  # type: ignore[no-untyped-def]
    host = make_plugin_host()
    return CliRunner().invoke(build_cli(host), ["score", *args], obj={"host": host})


def test_cli_score_ray_writes_the_rows_score_writes(local_ray: None, tmp_path: Path) -> None:
    rollouts = tmp_path / "rollouts.jsonl"
    rollouts.write_text("\n".join([_line("Invoice: ACME Corp, total 10", '{"total": 10}'),
                                   _line("Invoice: ACME Corp, total 10", "not json")]) + "\n")
    on_ray = _score([str(rollouts), "--pack", "json-extraction", "-o",
                     str(tmp_path / "ray.jsonl"), "--ray"])
    assert on_ray.exit_code == 0, on_ray.output
    assert "ray: 2 samples on 2 actors" in on_ray.output
    local = _score([str(rollouts), "--pack", "json-extraction", "-o",
                    str(tmp_path / "local.jsonl"), "--no-summary", "--order", "input"])
    assert local.exit_code == 0, local.output

    def strip(path: Path) -> list[dict[str, object]]:
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "elapsed_ms"} for r in rows]

    assert strip(tmp_path / "ray.jsonl") == strip(tmp_path / "local.jsonl")
    assert [r["index"] for r in strip(tmp_path / "ray.jsonl")] == [0, 1]
    refused = _score([str(rollouts), "--pack", "json-extraction", "--ray", "--order",
                      "completion"])
    assert refused.exit_code == 2 and "--order completion does not combine" in refused.output


def test_cli_score_ray_refuses_report(tmp_path: Path) -> None:
    rollouts = tmp_path / "r.jsonl"
    rollouts.write_text(_line("q", "a") + "\n")
    result = _score([str(rollouts), "--pack", "json-extraction", "--report",
                     str(tmp_path / "r.html"), "--ray=auto"])
    assert result.exit_code != 0 and "--report is not available with --ray" in result.output
