"""JSON in prose: the linear scanner (core/json_text.py) against the code it replaced,
measured in the same run on long adversarial input.

    .venv/bin/python bench/bench_extraction.py [--repeat 5]

The baselines are copies of the replaced functions (commit 6707099): extraction tried the
standard decoder at each brace but at most 64 of them (so it gave up before the answer),
and the verdict parser decoded at every brace of the last 200,000 characters and took the
last object. "uncapped" is the first of those without its cap, to show why the cap was
there. Each figure is the median of ``--repeat`` runs; only ratios within a run are meant to
be compared; a run over 2 s is not repeated.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from rewardsmith.core.sample import strip_reasoning
from rewardsmith.plugins.backends._verdict import parse_verdict
from rewardsmith.plugins.checks._extract import extract_json
from rewardsmith.plugins.judges.rubric import Criterion, explicit_schema

_DECODER = json.JSONDecoder()


def old_embedded(text: str, opener: str, cap: int | None = 64) -> Any:
    """extraction's ``_embedded`` at 6707099 (``cap=None``: without its cap)."""
    start = text.find(opener)
    tries = 0
    while start != -1 and (cap is None or tries < cap):
        tries += 1
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except RecursionError:
            return None
        except ValueError:
            start = text.find(opener, start + 1)
            continue
        return value
    return None


def old_verdict(text: str) -> Any:
    """the verdict parser's ``extract_json_object`` at 6707099: the last object wins."""
    text = strip_reasoning(text, ("think", "thinking", "reasoning"), drop_unclosed=True)
    text = text[-200_000:]
    last = None
    position = text.find("{")
    while position != -1:
        try:
            value, end = _DECODER.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            last = value
        position = text.find("{", end)
    return last


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    runs = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - started)
        if runs[-1] > 2.0:  # the quadratic baselines: one run says enough
            break
    return statistics.median(runs) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[str, str, float, str]] = []

    def row(case: str, impl: str, fn: Callable[[], Any], want: Any) -> None:
        ms, got = timed(fn, args.repeat)
        rows.append((case, impl, ms, "right" if got == want else f"WRONG ({str(got)[:30]})"))

    for n in (60, 6_000, 60_000):
        text = "We simplify " + "\\frac{a}{b} " * n + 'and report {"x": 2}'
        case = f"first_object: {n} x \\frac{{a}}{{b}}, then the object ({len(text):,} chars)"
        row(case, "before (64-start cap)", lambda t=text: old_embedded(t, "{"), {"x": 2})
        row(case, "before, uncapped", lambda t=text: old_embedded(t, "{", None), {"x": 2})
        row(case, "after", lambda t=text: extract_json(t, ["first_object"]).value, {"x": 2})
    for n in (2_000, 20_000):
        text = "Intervals [a, b] and [x] " * n + " answer: [2]"
        case = f"first_array: {n} x prose brackets, then [2] ({len(text):,} chars)"
        row(case, "before (64-start cap)", lambda t=text: old_embedded(t, "["), [2])
        row(case, "before, uncapped", lambda t=text: old_embedded(t, "[", None), [2])
        row(case, "after", lambda t=text: extract_json(t, ["first_array"]).value, [2])
    for n in (2_000, 20_000):
        text = '{"a": "{' * n + ' answer: {"x": 2}'
        case = f"first_object: {n} x an object opened in a string ({len(text):,} chars)"
        row(case, "before, uncapped", lambda t=text: old_embedded(t, "{", None), {"x": 2})
        row(case, "after", lambda t=text: extract_json(t, ["first_object"]).value, {"x": 2})

    for n in (2_000, 20_000):
        text = '{"a\n' * n + ' answer: {"x": 2}'
        case = f"first_object: {n} x a key broken by a raw line break ({len(text):,} chars)"
        row(case, "before, uncapped", lambda t=text: old_embedded(t, "{", None), {"x": 2})
        row(case, "after", lambda t=text: extract_json(t, ["first_object"]).value, {"x": 2})

    schema = explicit_schema([Criterion(id="correct", pass_if="right")])
    verdict = {"correct": {"rationale": "ok", "verdict": "pass"}}
    for n in (1_000, 8_000):
        noise = '\\frac{a}{b} {x} {"k": [1, {"y" ' * n
        text = noise + json.dumps(verdict)
        case = f"verdict after {len(noise):,} chars of brace noise"
        row(case, "before (last object)", lambda t=text: old_verdict(t), verdict)
        row(case, "after", lambda t=text: parse_verdict(t, schema, structured=False).verdict,
            verdict)

    print("| input | implementation | ms (median) | result |")
    print("|---|---|---:|---|")
    for case, impl, ms, result in rows:
        print(f"| {case} | {impl} | {ms:.2f} | {result} |")


if __name__ == "__main__":
    main()
