"""``rewardsmith score`` against a slow judge (issue 14, "CPU-speed judges"): a real
``rewardsmith score`` process, a real httpx client, the bundled OpenAI-compatible simulator
on loopback. The judge holds back its answer for one sample until the test lets it go, so
"still running" is decided by the test, never by a clock: rows of the other samples must be
in the output file while that call is held, and a SIGINT or SIGTERM must leave every
finished row in the file, say what was lost and exit 130 / 143. The file is polled with a
generous deadline; nothing asserts on how long anything took."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.judged_pack import write_judged_pack

from rewardsmith.simulators import OpenAISimulator
from rewardsmith.simulators.faults import VerdictRequest, default_verdict
from rewardsmith.simulators.wiring import openai_settings

HOLD = "HOLD-THIS-ONE"
PATIENCE_S = 120.0  # a deadline for polling only, never an assertion


class HeldJudge:
    """A verdict policy that answers at once, except for a candidate containing ``HOLD``,
    whose answer waits until :meth:`release` (or the test's end)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.held = threading.Event()

    def __call__(self, request: VerdictRequest) -> dict[str, Any] | str:
        if HOLD in request.text:
            self.held.set()
            self.released.wait(PATIENCE_S)
        return default_verdict(request)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def judge() -> Iterator[tuple[OpenAISimulator, HeldJudge]]:
    held = HeldJudge()
    with OpenAISimulator(policy=held) as sim:
        try:
            yield sim, held
        finally:
            held.release()  # the server thread must not wait out the patience


def _files(tmp_path: Path, sim: OpenAISimulator, responses: list[str]) -> tuple[Path, Path]:
    pack = write_judged_pack(tmp_path, openai_settings(
        sim.base_url, max_concurrency=4, timeout_s=PATIENCE_S, max_retries=0))
    rollouts = tmp_path / "rollouts.jsonl"
    rollouts.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "messages": [
        {"role": "user", "content": "Can you help me?"},
        {"role": "assistant", "content": text}]}) + b"\n" for i, text in enumerate(responses)))
    return pack, rollouts


def _score(pack: Path, rollouts: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-simulator-dummy"}
    return subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", "score", str(rollouts), "--pack", str(pack),
         "-o", str(out), "--no-progress", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _rows(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    # only whole lines: a row is written and flushed as one line
    return [orjson.loads(line) for line in out.read_bytes().splitlines(keepends=True)
            if line.endswith(b"\n")]


def _wait_for_rows(out: Path, count: int, proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    give_up = time.monotonic() + PATIENCE_S
    while time.monotonic() < give_up:
        rows = _rows(out)
        if len(rows) >= count:
            return rows
        if proc.poll() is not None:
            pytest.fail(f"score ended early ({proc.returncode}): {proc.communicate()[1]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {count} rows in {PATIENCE_S} s: {_rows(out)}")


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=PATIENCE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"score did not end: {err}")
    return proc.returncode, err


def test_rows_are_in_the_file_while_another_sample_is_still_being_judged(
    tmp_path: Path, judge: tuple[OpenAISimulator, HeldJudge],
) -> None:
    sim, held = judge
    pack, rollouts = _files(tmp_path, sim, ["Gladly, here it is.", f"One moment. {HOLD}",
                                             "Sure, done."])
    out = tmp_path / "scored.jsonl"
    proc = _score(pack, rollouts, out)
    try:
        rows = _wait_for_rows(out, 2, proc)
        assert held.held.is_set() and proc.poll() is None  # s1's verdict is still held
        assert sorted((r["id"], r["index"]) for r in rows) == [("s0", 0), ("s2", 2)]
        assert all(r["components"]["review"]["value"] is not None for r in rows)
        held.release()
        code, err = _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    rows = _rows(out)
    assert [r["id"] for r in rows][-1] == "s1"  # written last: it finished last
    assert sorted(r["index"] for r in rows) == [0, 1, 2]
    assert "samples" in err  # the summary table is still printed


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_keeps_the_finished_rows_and_says_what_was_not_scored(
    tmp_path: Path, judge: tuple[OpenAISimulator, HeldJudge], signum: int, code: int,
) -> None:
    sim, held = judge
    # batches of one: s0 is done, s1 is held in flight, s2 is never started
    pack, rollouts = _files(tmp_path, sim, ["Gladly, here it is.", f"One moment. {HOLD}",
                                             "Sure, done."])
    out = tmp_path / "scored.jsonl"
    proc = _score(pack, rollouts, out, "--batch-size", "1", "--report",
                  str(tmp_path / "report.html"))
    try:
        _wait_for_rows(out, 1, proc)
        give_up = time.monotonic() + PATIENCE_S
        while not held.held.is_set() and time.monotonic() < give_up:
            time.sleep(0.05)
        assert held.held.is_set(), "s1's judge call never arrived"
        proc.send_signal(signum)
        returned, err = _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert returned == code, err
    rows = _rows(out)
    assert [(r["id"], r["index"], r["status"]) for r in rows] == [("s0", 0, "ok")]
    name = signal.Signals(signum).name
    assert (f"interrupted ({name}): 1 samples scored and written; 2 not scored, no row "
            "written (1 started and stopped unfinished: cancelled in flight or waiting for "
            "their group; 1 not started)") in err, err
    assert "s0" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_input_order_holds_rows_until_every_earlier_one_is_written(tmp_path: Path) -> None:
    from rewardsmith.cli.score_stream import RowWriter

    path = tmp_path / "rows.jsonl"
    with path.open("w", encoding="utf-8") as out:
        writer = RowWriter(out, "input")
        for index in (2, 0, 4):
            writer.write(index, {"index": index})
        # 0 is written at once; 2 waits for 1, 4 for 3
        assert [r["index"] for r in _rows(path)] == [0]
        writer.write(1, {"index": 1})
        assert [r["index"] for r in _rows(path)] == [0, 1, 2]
        writer.drain()  # stopped: 3 never comes, 4 is written after the gap
    assert [r["index"] for r in _rows(path)] == [0, 1, 2, 4]
    assert writer.written == 4
    with pytest.raises(ValueError, match="order must be one of"):
        RowWriter(out, "sorted")
