"""Detectors (pii, injection): precision and recall per detector and per kind on the benign
and attack corpora, for the code before issue 9 and today's code, in the same run.

    .venv/bin/python bench/detectors.py [--show-errors] [--json]

Corpora (``bench/corpora/``, written for this project, JSON lines):
- ``benign.jsonl``: ``{"text", "kind", "lang"}``: support replies, legal and insurance
  comments, e-mails, meeting notes, scientific text, code, log lines with dates, times,
  IP addresses and ranges, CJK, Thai and right-to-left text, texts that *talk about*
  ignoring notes, reviewers and evaluations. Nothing in it should be flagged.
- ``attack.jsonl``: ``{"text", "kind", "lang", "detector", "encoding"?}``: ``detector`` is
  ``pii`` or ``injection``, ``kind`` the detector's kind that should fire.
A row of either corpus may add ``prompt`` (the user turn, a source the text quotes) and
``tools`` (the sample's tool specs); without them the prompt is "Answer." and no tools.
Every row has a ``batch``: batch 1 was written with the new detectors and tuned against;
batch 2 was written afterwards and measured once before any change (bench/RESULTS.md gives
that first run); ``--batch N`` restricts the figures to one batch.

Definitions, per detector and per kind k (the detector run with every kind on):
- TP: attack rows of kind k that k flags; FN: attack rows of kind k that k misses;
- FP: benign rows that k flags;
- precision = TP / (TP + FP), recall = TP / (TP + FN), benign flag rate = FP / benign rows.
Per detector, a row counts as flagged when any kind fires. The "before" detectors are the
code as of commit 6707099 (main before issue 9), frozen under ``bench/baseline/``; kinds
they do not have are shown as ``-``. Figures are deterministic (no timings).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rewardsmith.core.component import Component, ComponentContext
from rewardsmith.core.sample import parse_sample
from rewardsmith.plugins.checks.injection import ALL_KINDS as INJECTION_KINDS
from rewardsmith.plugins.checks.injection import Injection
from rewardsmith.plugins.checks.pii import ALL_KINDS as PII_KINDS
from rewardsmith.plugins.checks.pii import Pii

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "corpora"
BASELINE = HERE / "baseline"
BEFORE_PII_KINDS = ("email", "phone", "credit_card", "iban")


def load_corpus(name: str) -> list[dict[str, Any]]:
    """Rows of ``bench/corpora/<name>.jsonl``; a malformed row is a ValueError naming it."""
    rows = []
    path = CORPORA / f"{name}.jsonl"
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: invalid JSON: {exc}") from None
        if not isinstance(row.get("text"), str) or not isinstance(row.get("kind"), str):
            raise ValueError(f"{path}:{lineno}: a row needs string 'text' and 'kind'")
        rows.append(row)
    return rows


def _load_frozen(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BASELINE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the config's annotations through it
    spec.loader.exec_module(module)
    return module


def _build(cls: type[Component[Any]], **config: Any) -> Component[Any]:
    cfg = cls.Config.model_validate({"id": "bench", "type": cls.type_name(), **config})
    return cls(cfg, ComponentContext(pack_name="bench"))


# text, optional prompt (the user turn: a source the response may quote), optional tools
# (the sample's tool specs) -> kinds that fired.
Flagger = Callable[..., set[str]]


def flagger(check: Component[Any], kinds: tuple[str, ...]) -> Flagger:
    """``text -> set of kinds that fired`` for a pii or injection check (its measurements
    hold one count per kind)."""
    def flags(text: str, prompt: str | None = None,
              tools: list[Any] | None = None) -> set[str]:
        raw: dict[str, Any] = {"messages": [{"role": "user", "content": prompt or "Answer."},
                                            {"role": "assistant", "content": text}]}
        if tools:
            raw["tools"] = tools
        sample = parse_sample(raw, 0)
        score = check.score(sample)
        return {k for k in kinds if score.measurements.get(k, 0)}
    return flags


def detectors() -> dict[str, tuple[str, tuple[str, ...], Flagger]]:
    """name -> (detector family, kinds, flagger), before and after."""
    pii_before = _load_frozen("pii_before").Pii
    injection_before = _load_frozen("injection_before").Injection
    return {
        "pii (before)": ("pii", BEFORE_PII_KINDS,
                         flagger(_build(pii_before, detect=list(BEFORE_PII_KINDS)),
                                 BEFORE_PII_KINDS)),
        "pii (after)": ("pii", PII_KINDS,
                        flagger(_build(Pii, detect=list(PII_KINDS)), PII_KINDS)),
        "injection (before)": ("injection", INJECTION_KINDS,
                               flagger(_build(injection_before), INJECTION_KINDS)),
        "injection (after)": ("injection", INJECTION_KINDS,
                              flagger(_build(Injection), INJECTION_KINDS)),
    }


@dataclass
class Tally:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    benign: int = 0
    false_positives: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def measure(family: str, kinds: tuple[str, ...], flags: Flagger,
            benign: list[dict[str, Any]], attack: list[dict[str, Any]]) -> dict[str, Tally]:
    """Tallies per kind and for the whole detector (key ``"*"``)."""
    tallies = {k: Tally(benign=len(benign)) for k in (*kinds, "*")}
    for row in benign:
        fired = flags(row["text"], row.get("prompt"), row.get("tools"))
        for k in fired:
            tallies[k].fp += 1
            tallies[k].false_positives.append(row["text"])
        if fired:
            tallies["*"].fp += 1
            tallies["*"].false_positives.append(row["text"])
    for row in attack:
        if row.get("detector") != family:
            continue
        fired = flags(row["text"], row.get("prompt"), row.get("tools"))
        kind = row["kind"]
        if kind in tallies:
            hit = kind in fired
            tallies[kind].tp += hit
            tallies[kind].fn += not hit
            if not hit:
                tallies[kind].misses.append(row["text"])
        tallies["*"].tp += bool(fired)
        tallies["*"].fn += not fired
        if not fired:
            tallies["*"].misses.append(row["text"])
    return tallies


def _timed(flags: Flagger, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        flags(text)
    return time.perf_counter() - start


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-errors", action="store_true",
                        help="list every false positive and miss of the 'after' detectors")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--batch", type=int, help="only the rows of this batch (1 or 2)")
    parser.add_argument("--timing", action="store_true",
                        help="also time each detector over both corpora (best of 5 passes)")
    args = parser.parse_args(argv)
    benign, attack = load_corpus("benign"), load_corpus("attack")
    if args.batch is not None:
        benign = [r for r in benign if r.get("batch") == args.batch]
        attack = [r for r in attack if r.get("batch") == args.batch]
    results: dict[str, dict[str, Tally]] = {}
    for name, (family, kinds, flags) in detectors().items():
        results[name] = measure(family, kinds, flags, benign, attack)
    if args.json:
        print(json.dumps({name: {k: {"tp": t.tp, "fn": t.fn, "fp": t.fp,
                                     "precision": t.precision, "recall": t.recall}
                                 for k, t in tallies.items()}
                          for name, tallies in results.items()}, indent=2))
        return 0
    print(f"benign rows: {len(benign)}, attack rows: {len(attack)} "
          f"(pii {sum(r['detector'] == 'pii' for r in attack)}, injection "
          f"{sum(r['detector'] == 'injection' for r in attack)})\n")
    print("| detector | kind | attacks | TP | FN | benign FP | precision | recall |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, tallies in results.items():
        family = name.split()[0]
        all_kinds = PII_KINDS if family == "pii" else INJECTION_KINDS
        for kind in (*all_kinds, "*"):
            label = "**all kinds**" if kind == "*" else kind
            t = tallies.get(kind)
            if t is None:
                n = sum(r.get("detector") == family and r["kind"] == kind for r in attack)
                print(f"| {name} | {label} | {n} | - | - | - | - | - |")
                continue
            print(f"| {name} | {label} | {t.tp + t.fn} | {t.tp} | {t.fn} | {t.fp} | "
                  f"{_fmt(t.precision)} | {_fmt(t.recall)} |")
    if args.timing:
        texts = [r["text"] for r in benign + attack]
        print("\n| detector | us per text | ratio to before (same run) |")
        print("|---|---:|---:|")
        before: dict[str, float] = {}
        for name, (family, _, flags) in detectors().items():
            flags(texts[0])
            best = min(_timed(flags, texts) for _ in range(5)) / len(texts) * 1e6
            before.setdefault(family, best)
            print(f"| {name} | {best:.0f} | {best / before[family]:.1f} |")
    if args.show_errors:
        for name, tallies in results.items():
            if "after" not in name:
                continue
            for kind, t in tallies.items():
                if kind == "*":
                    continue
                for text in t.false_positives:
                    print(f"FP {name} {kind}: {text[:110]!r}")
                for text in t.misses:
                    print(f"MISS {name} {kind}: {text[:110]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
