"""Judge accounting checks shared by tests: a Converse simulator that counts the usage it
served, the sum of a batch's per-row judge figures, and the assertion that rows, the batch
telemetry and the server agree (docs/judges.md, "What a row's judge figures count")."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from rewardsmith.simulators.converse_sim import ConverseSimulator

#: A row's judge figures and the batch telemetry's name for each.
ROW_TO_TELEMETRY = {
    "judge_calls": "judge_calls", "cached": "cache_hits", "deduplicated": "deduplicated",
    "input_tokens": "input_tokens", "output_tokens": "output_tokens",
    "cost_usd": "cost_usd", "judge_attempts": "judge_attempts",
    "judge_repairs": "judge_repairs", "judge_failed_calls": "judge_failures",
}


class CountingConverse(ConverseSimulator):
    """A Converse simulator that also counts the usage tokens it answered with."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.served_input = 0
        self.served_output = 0
        self._counting = threading.Lock()

    def _answer(self, request: Any, body: dict[str, Any], fault: str) -> dict[str, Any]:
        out = super()._answer(request, body, fault)
        with self._counting:
            self.served_input += out["usage"]["inputTokens"]
            self.served_output += out["usage"]["outputTokens"]
        return out


def row_sums(batch: Any) -> dict[str, float]:
    """Each judge figure summed over every component of every row of ``batch``."""
    sums: dict[str, float] = defaultdict(float)
    for result in batch.results:
        for outcome in result.components.values():
            for key in ROW_TO_TELEMETRY:
                value = (outcome.measurements or {}).get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sums[key] += value
    return dict(sums)


def assert_rows_match_telemetry(batch: Any) -> dict[str, Any]:
    """Rows summed equal the batch telemetry, figure by figure; returns the summary."""
    summary = batch.summary()
    sums = row_sums(batch)
    for row_key, key in ROW_TO_TELEMETRY.items():
        got, want = sums.get(row_key, 0), summary[key]
        if row_key == "cost_usd":
            assert abs(got - want) < 1e-5, (row_key, got, want)
        else:
            assert got == want, (row_key, got, want)
    assert summary["judge_failures"] == sum(summary["judge_call_failures"].values())
    return summary


def assert_server_agrees(sim: CountingConverse, summary: dict[str, Any], *,
                         settle_s: float = 10.0, abandoned: bool = False) -> None:
    """Every attempt the telemetry counts reached the server and nothing else did, and
    the tokens counted are those the server answered with. Attempts abandoned in a
    worker thread may land a moment after the batch returns: wait for them (a condition,
    not a timing assertion). ``abandoned``: calls were abandoned, so the server answered
    usage the client never read."""
    end = time.monotonic() + settle_s
    while sim.request_count < summary["judge_attempts"] and time.monotonic() < end:
        time.sleep(0.05)
    assert sim.request_count == summary["judge_attempts"]
    if abandoned:
        # an abandoned call's answer (and the usage in it) is never read
        assert sim.served_input >= summary["input_tokens"]
        assert sim.served_output >= summary["output_tokens"]
        return
    assert sim.served_input == summary["input_tokens"]
    assert sim.served_output == summary["output_tokens"]
