"""Cost of matching pack patterns with ``regex`` under a timeout instead of plain ``re``.

    .venv/bin/python bench/bench_pack_regex.py [--calls 20000]

Same patterns, same 24 example responses (examples/rollouts/json-extraction.jsonl,
cycled): ``re.search`` is the baseline; the ``regex`` library is measured plain, with
``timeout=`` and with ``timeout=`` plus ``concurrent=True`` (what the regex check does).
The json-schema check is measured against the invoice schema (it has a ``pattern``)
with jsonschema's own validator class and with :func:`with_timed_patterns`. Interleaved,
median of 5 rounds; only ratios within one run are meant to be compared.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import regex
from jsonschema import validators

from rewardsmith.plugins.checks._schema_regex import with_timed_patterns

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "rollouts" / "json-extraction.jsonl"
SCHEMA = ROOT / "src" / "rewardsmith" / "rubric_packs" / "schemas" / "invoice.schema.json"
PATTERNS = [r'"total"\s*:\s*\d', r"(?i)as an ai", r"\b[A-Z]{3}\b", r"(?m)^\s*[-*] "]


def _responses() -> list[str]:
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    return [row["messages"][-1]["content"] for row in rows]


def _time(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    calls = parser.parse_args().calls
    texts = _responses()
    cycle = [texts[i % len(texts)] for i in range(calls)]
    std = [re.compile(p) for p in PATTERNS]
    mrab = [regex.compile(p, regex.VERSION0) for p in PATTERNS]

    schema = orjson.loads(SCHEMA.read_bytes())
    plain_cls = validators.validator_for(schema)
    plain_validator = plain_cls(schema)
    timed_validator = with_timed_patterns(plain_cls)(schema)
    docs = []
    for text in texts:
        try:
            docs.append(orjson.loads(text.strip().removeprefix("```json").removesuffix("```")))
        except orjson.JSONDecodeError:
            continue
    doc_cycle = [docs[i % len(docs)] for i in range(calls // 10)]

    cases: dict[str, Callable[[], None]] = {
        "re.search (baseline)": lambda: [p.search(t) for t in cycle for p in std],
        "regex.search": lambda: [p.search(t) for t in cycle for p in mrab],
        "regex.search timeout": lambda: [p.search(t, timeout=0.05) for t in cycle for p in mrab],
        "regex.search timeout+concurrent": lambda: [
            p.search(t, timeout=0.05, concurrent=True) for t in cycle for p in mrab],
        "jsonschema plain (baseline)": lambda: [
            list(plain_validator.iter_errors(d)) for d in doc_cycle],
        "jsonschema timed patterns": lambda: [
            list(timed_validator.iter_errors(d)) for d in doc_cycle],
    }
    rounds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(5):
        for name, run in cases.items():
            rounds[name].append(_time(run))
    medians = {name: statistics.median(times) for name, times in rounds.items()}
    print(f"{calls} responses x {len(PATTERNS)} patterns; {len(doc_cycle)} schema validations")
    for name, median in medians.items():
        base = medians["re.search (baseline)" if not name.startswith("jsonschema")
                       else "jsonschema plain (baseline)"]
        print(f"| {name} | {median:.3f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
