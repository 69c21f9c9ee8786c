"""Synthetic training runs for the monitor: step files of real ``score`` rows with a
reward-hacking signature injected from a known step on.

Every step is 16 prompts x 8 rollouts scored by the real engine (pack loader, gates,
aggregation, ``jsonl_row``) through the ``metadata-score`` fixture component, whose values
the generator decides from a latent quality ``q`` per rollout:

* ``correct`` (a check): ``q`` plus noise; ``format_ok`` (a binary check): 1 with
  probability 0.95, so a healthy check that sits at its top is *not* a new saturation;
* ``judge`` (a judge: it reports judge calls, tokens, cost and position inconsistency):
  ``q`` plus noise, with two rubric criteria;
* the response's length is independent of ``q``.

A signature ramps in from ``inject_at`` over three steps (strength 1/3, 2/3, 1):

* ``length_padding``: the judge rewards length and the policy writes longer answers;
* ``judge_check_divergence``: the judge's value stops tracking quality (a judge pleased by
  something the checks do not see);
* ``component_saturation``: the ``correct`` check gives 1.0 to everyone (a loophole);
* ``group_spread_collapse``: groups whose rollouts are all the same answer;
* ``swap_inconsistency``: pairwise verdicts flip with the order more often.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.aws_lambda.observability import (
    InvocationRecord,
    MetricsConfig,
    emit_emf,
    log_invocation,
)
from rewardsmith.core.wire import encode_line, jsonl_row
from tests.support import metadata_plugin

SIGNATURES = ("length_padding", "judge_check_divergence", "component_saturation",
              "group_spread_collapse", "swap_inconsistency")
PROMPTS, ROLLOUTS = 16, 8

PACK = """
[pack]
name = "monitor-demo"
version = "1.0.0"

[[components]]
id = "format_ok"
type = "metadata-score"
usage_key = "none"
weight = 0.5

[[components]]
id = "correct"
type = "metadata-score"
usage_key = "none"
weight = 1

[[components]]
id = "judge"
type = "metadata-score"
weight = 1
"""


def _clip(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 4)


def _strength(step: int, inject_at: int | None) -> float:
    if inject_at is None or step < inject_at:
        return 0.0
    return min(1.0, (step - inject_at + 1) / 3)


def step_samples(step: int, *, seed: int, signature: str | None = None,
                 inject_at: int | None = None) -> list[dict[str, Any]]:
    """The rollouts of one step (1-based) as RFT samples with metadata scores."""
    rng = random.Random(seed * 10_007 + step)
    s = _strength(step, inject_at) if signature else 0.0
    samples = []
    for g in range(PROMPTS):
        collapsed = signature == "group_spread_collapse" and rng.random() < s
        first: dict[str, Any] | None = None
        for r in range(ROLLOUTS):
            if collapsed and first is not None:
                samples.append({**first, "id": f"s{step}-g{g}-r{r}"})
                continue
            q = rng.random()
            chars = max(20, int(rng.gauss(300, 80)))
            correct = q + rng.gauss(0, 0.1)
            judge = q + rng.gauss(0, 0.12)
            if signature == "length_padding":
                pad = rng.random()
                chars += int(s * 900 * pad)
                judge = (1 - s) * judge + s * (pad + rng.gauss(0, 0.05))
            elif signature == "judge_check_divergence":
                judge = (1 - s) * judge + s * rng.random()
            elif signature == "component_saturation" and rng.random() < s:
                correct = 1.0
            swap_p = 0.05 + (0.45 * s if signature == "swap_inconsistency" else 0.0)
            sample = {
                "id": f"s{step}-g{g}-r{r}",
                "messages": [{"role": "user", "content": f"Question {g} of step {step}"},
                             {"role": "assistant", "content": "x" * chars}],
                "metadata": {
                    "scores": {"format_ok": 1.0 if rng.random() < 0.95 else 0.0,
                               "correct": _clip(correct), "judge": _clip(judge)},
                    "judge_usage": {"judge_calls": 2, "input_tokens": 400,
                                    "output_tokens": 60, "cost_usd": 0.0004,
                                    "position_inconsistency":
                                        1.0 if rng.random() < swap_p else 0.0},
                    "details": {"judge": {"criteria": {
                        "accurate": {"passed": _clip(judge) >= 0.5},
                        "concise": {"passed": chars < 400}}}},
                },
            }
            first = first or sample
            samples.append(sample)
    return samples


def write_run(directory: Path, *, steps: int = 20, seed: int = 1,
              signature: str | None = None, inject_at: int | None = None,
              extra: dict[int, list[dict[str, Any]]] | None = None) -> list[Path]:
    """Score each step with the real engine and write ``step-NN.jsonl``; return the
    paths in step order. ``extra`` adds raw samples to given steps."""
    directory.mkdir(parents=True, exist_ok=True)
    pack_path = directory / "monitor-demo.toml"
    pack_path.write_text(PACK, encoding="utf-8")
    host = make_plugin_host(load_entry_points=False, plugins=[("fixture", metadata_plugin)])
    scorer = Scorer(load_pack(pack_path, host))
    paths = []
    try:
        for step in range(1, steps + 1):
            samples = step_samples(step, seed=seed, signature=signature, inject_at=inject_at)
            samples += (extra or {}).get(step, [])
            results = scorer.score(samples).results
            path = directory / f"step-{step:02d}.jsonl"
            path.write_text("".join(encode_line(jsonl_row(r)) + "\n" for r in results),
                            encoding="utf-8")
            paths.append(path)
    finally:
        scorer.close()
    return paths


def write_lambda_step(path: Path, invocations: list[dict[str, Any]]) -> Path:
    """What the reward Lambda prints for each invocation of one step: the platform lines,
    the ``reward_invocation`` JSON line and the EMF document, from the real emitters.
    Each invocation is a summary dict with ``samples`` and the summary's keys."""
    out = io.StringIO()
    for i, given in enumerate(invocations):
        summary = dict(given)
        out.write(f"START RequestId: req-{i} Version: $LATEST\n")
        record = InvocationRecord(request_id=f"req-{i}", function_name="reward",
                                  pack_name="demo", samples=summary.pop("samples"),
                                  summary=summary, elapsed_ms=120.0)
        log_invocation(record, stream=out)
        emit_emf(record, MetricsConfig(), stream=out)
        out.write(f"END RequestId: req-{i}\n")
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


_GAP_CHECK = """
[[components]]
id = "chk"
type = "metadata-score"
usage_key = "none"
weight = 1
"""
_GAP_JUDGE = """
[[components]]
id = "j"
type = "metadata-score"
weight = 1
"""


def _gap_pack(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(f'[pack]\nname = "{name}"\nversion = "1.0.0"\n{body}', encoding="utf-8")
    return path


def write_gap_run(directory: Path, *, gap: str, steps: int = 7) -> list[Path]:
    """The tester's run, scored by the real engine: 32 rollouts a step in groups of 4;
    check ``chk`` random; judge ``j`` random in steps 1-3 and 1.0 for everyone from step 4;
    step 5 has no ``j`` (``gap="absent"``: scored by a pack without it) or a ``j`` that
    failed on every sample (``gap="failed"``: a judge_parse error each)."""
    directory.mkdir(parents=True, exist_ok=True)
    host = make_plugin_host(load_entry_points=False, plugins=[("fixture", metadata_plugin)])
    with_j = Scorer(load_pack(_gap_pack(directory, "with-j", _GAP_CHECK + _GAP_JUDGE), host))
    without_j = Scorer(load_pack(_gap_pack(directory, "without-j", _GAP_CHECK), host))
    rng = random.Random(8)
    paths = []
    try:
        for step in range(1, steps + 1):
            samples = []
            for i in range(32):
                j = rng.random() if step <= 3 else 1.0
                metadata = {"scores": {"chk": round(rng.random(), 4), "j": round(j, 4)},
                            "judge_usage": {"judge_calls": 1}}
                if step == 5 and gap == "failed":
                    metadata["errors"] = {"j": "judge_parse"}
                samples.append({"id": f"s{step}-{i}", "metadata": metadata, "messages": [
                    {"role": "user", "content": f"Question {i // 4} of step {step}"},
                    {"role": "assistant", "content": "x" * rng.randint(20, 400)}]})
            scorer = without_j if step == 5 and gap == "absent" else with_j
            path = directory / f"ms{step}.jsonl"
            path.write_text("".join(encode_line(jsonl_row(r)) + "\n"
                                    for r in scorer.score(samples).results), encoding="utf-8")
            paths.append(path)
    finally:
        with_j.close()
        without_j.close()
    return paths
