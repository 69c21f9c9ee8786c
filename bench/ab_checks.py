"""A/B of the checks a change touched: an older version of their modules against the
current one, in one process, interleaved, on the same samples.

    git archive <old-commit> src | tar -x -C /tmp/old
    .venv/bin/python bench/ab_checks.py --base-src /tmp/old/src [--calls 3000] [--rounds 5]

Loads ``plugins/checks/<module>.py`` of ``--base-src`` by file path (their imports of
shared helpers resolve to the current package) and builds the same configuration with the
old and the new class. Samples: the 24 example rollouts (``examples/rollouts/
json-extraction.jsonl``) and the short replies in seven scripts of ``bench_checks.TEXTS``.
Each round times old then new (alternating which goes first); the figure is the median
over rounds of per-call microseconds, and new/old is the median of the per-round ratios.
Interleaving in one process keeps a shared, loaded machine's drift out of the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from rewardsmith import make_plugin_host
from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.logs import configure_logging
from rewardsmith.core.sample import parse_sample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_checks import EXAMPLES, PACKS, TEXTS

X = ["think", "fences"]
# (label, module, type, options, sample set)
CASES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("length (tokens)", "length", "length", {"unit": "tokens", "max": 400}, "json"),
    ("keywords", "text_patterns", "keywords",
     {"required": ["invoice_number", "total"], "forbidden": ["lorem ipsum"]}, "json"),
    ("repetition (3-grams + items)", "repetition", "repetition",
     {"extract": X, "items_path": "line_items", "max_ngram_repeat": 0.3}, "json"),
    ("unicode-hygiene", "unicode_hygiene", "unicode-hygiene", {}, "json"),
    ("language-match", "language", "language-match",
     {"expected": "en", "min_chars": 1, "min_confidence": 0.0}, "json"),
    ("text: keywords", "text_patterns", "keywords",
     {"required": ["退款", "refund"], "forbidden": ["承诺", "promise"],
      "min_required_fraction": 0.5}, "text"),
    ("text: repetition", "repetition", "repetition", {}, "text"),
    ("text: length (words)", "length", "length", {"unit": "words", "max": 400}, "text"),
    ("text: length (tokens)", "length", "length", {"unit": "tokens", "max": 400}, "text"),
    ("text: unicode-hygiene", "unicode_hygiene", "unicode-hygiene", {}, "text"),
    ("text: language-match", "language", "language-match",
     {"expected": "zh", "min_chars": 1, "min_confidence": 0.0}, "text"),
]


def load_old(base_src: Path, module: str) -> Any:
    path = base_src / "rewardsmith" / "plugins" / "checks" / f"{module}.py"
    name = f"_old_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # pydantic resolves the config's annotations through it
    spec.loader.exec_module(loaded)
    return loaded


def build(cls: Any, type_name: str, options: dict[str, Any]) -> Any:
    config = cls.Config.model_validate({"type": type_name, "id": "c", **options})
    return cls(config, ComponentContext(search_paths=(PACKS,)))


def per_call_us(check: Any, samples: list[Any], calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        with contextlib.suppress(ComponentError, orjson.JSONDecodeError):
            check.score(samples[i % len(samples)])
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-src", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging(level="warning")
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    sets = {
        "json": [parse_sample(row, i) for i, row in enumerate(rows)],
        "text": [parse_sample({"id": f"t{i}", "messages": [
            {"role": "user", "content": "Where is my refund?"},
            {"role": "assistant", "content": text}]}, i) for i, text in enumerate(TEXTS)],
    }
    host = make_plugin_host(allow=["checks"])
    print("| check | old us/call | new us/call | new / old |")
    print("|---|---:|---:|---:|")
    for label, module, type_name, options, which in CASES:
        old = build(getattr(load_old(args.base_src, module),
                            host.components[type_name].value.__name__), type_name, options)
        new = build(host.components[type_name].value, type_name, options)
        samples = sets[which]
        for check in (old, new):
            per_call_us(check, samples, len(samples))  # warm caches and lazy models
        old_us, new_us, ratios = [], [], []
        for round_ in range(args.rounds):
            pair = (old, new) if round_ % 2 == 0 else (new, old)
            timed = {id(c): per_call_us(c, samples, args.calls) for c in pair}
            old_us.append(timed[id(old)])
            new_us.append(timed[id(new)])
            ratios.append(timed[id(new)] / timed[id(old)])
        print(f"| {label} | {statistics.median(old_us):.1f} | "
              f"{statistics.median(new_us):.1f} | {statistics.median(ratios):.2f} |")


if __name__ == "__main__":
    main()
