"""What the judge components cost the scoring process itself, model latency excluded.

Scores the contract-review example rollouts (repeated to N samples) twice in the same
run: with the pack minus its rubric judge (the baseline: gates and deterministic checks),
and with the whole pack, the judge answered instantly by an in-process backend. The ratio
is the work the judge component adds per sample: building the hardened prompt (escaping,
boundary hash), generating the verdict schema and validating the verdict. A pairwise
group tournament (8 rollouts, 28 pairs, 56 calls per group) is timed the same way.

    .venv/bin/python bench/judge_overhead.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import orjson

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.judging import JudgeBackend, JudgeBackendConfig, JudgeReply, JudgeRequest

ROOT = Path(__file__).resolve().parents[1]
ROLLOUTS = ROOT / "examples" / "rollouts" / "contract-review.jsonl"


class InstantConfig(JudgeBackendConfig):
    backend: Literal["instant"] = "instant"


class InstantJudge(JudgeBackend):
    """Passes every criterion / prefers response A, with no I/O."""

    Config = InstantConfig

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        schema = request.json_schema or {}
        if "winner" in schema.get("properties", {}):
            verdict: dict[str, Any] = {"rationale": "r", "winner": "A"}
        else:
            verdict = {cid: {"rationale": "r", "verdict": "pass"} for cid in schema["required"]}
        return JudgeReply(text="", parsed=verdict)


class Plugin:
    @hookimpl
    def register_judge_backends(self, register: Callable[[type[Any]], None]) -> None:
        register(InstantJudge)


def _time(path: Path, samples: list[dict[str, Any]], repeats: int = 5) -> float:
    scorer = Scorer(load_pack(path, make_plugin_host(plugins=[("instant", Plugin())])))
    try:
        scorer.score(samples[:50])  # warm up
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            scorer.score(samples)
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)
    finally:
        scorer.close()


def main(n: int) -> None:
    rows = [orjson.loads(line) for line in ROLLOUTS.read_text(encoding="utf-8").splitlines()]
    samples = []
    for i in range(n):
        row = dict(rows[i % len(rows)])
        row["id"] = f"{row['id']}-{i}"
        samples.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        head = ('[pack]\nname = "bench"\nversion = "1"\nextends = "contract-review"\n\n'
                '[judge]\nbackend = "instant"\n')
        full = folder / "full.toml"
        full.write_text(head, encoding="utf-8")
        base = folder / "base.toml"
        base.write_text(head.replace('extends', 'remove_components = ["review"]\nextends'),
                        encoding="utf-8")
        t_base, t_full = _time(base, samples), _time(full, samples)

        group_samples = [
            {"id": f"g{g}-{k}", "messages": [
                {"role": "user", "content": f"Review contract {g}."},
                {"role": "assistant", "content": rows[k]["messages"][-1]["content"]}]}
            for g in range(max(1, n // 8)) for k in range(8)
        ]
        tournament = folder / "tournament.toml"
        tournament.write_text(
            '[pack]\nname = "bench-pairwise"\nversion = "1"\n\n[judge]\nbackend = "instant"\n'
            'model = "m"\n\n[[components]]\nid = "rank"\ntype = "pairwise-judge"\n'
            'mode = "group"\nscoring = "bradley_terry"\n\n'
            '[[components]]\nid = "json"\ntype = "json-valid"\n', encoding="utf-8")
        solo = folder / "solo.toml"
        solo.write_text('[pack]\nname = "bench-json"\nversion = "1"\n\n'
                        '[[components]]\nid = "json"\ntype = "json-valid"\n', encoding="utf-8")
        t_solo, t_tournament = _time(solo, group_samples), _time(tournament, group_samples)

    print(f"samples: {n}")
    print(f"contract-review without judge: {t_base / n * 1e6:8.1f} us/sample")
    print(f"contract-review with judge:    {t_full / n * 1e6:8.1f} us/sample "
          f"(x{t_full / t_base:.2f} the baseline)")
    m = len(group_samples)
    print(f"json-valid alone (groups of 8): {t_solo / m * 1e6:8.1f} us/sample")
    print(f"+ pairwise group tournament:    {t_tournament / m * 1e6:8.1f} us/sample "
          f"(x{t_tournament / t_solo:.2f}; 7 pairs = 14 judge calls per sample)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
