"""The claims detector of ``tool-claims`` (``action = "refund"``, plugins/checks/_claims.py):
precision and recall per language, and against the English pack patterns it replaced, on
the same corpus in the same run.

    .venv/bin/python bench/claims.py [--show-errors] [--json]

Corpora (``bench/corpora/``, written for this project, JSON lines):
- ``claims.jsonl``: ``{"text", "lang", "claim", "batch"}``: support answers in the 19
  languages the injection check covers; ``claim`` is true when the answer reports a refund
  as done, false for the near misses a policy also writes: the refund negated, offered,
  conditional, asked about, or the refund policy described. Batch 1 was written with the
  detector and tuned against; batch 2 was written afterwards, in other phrasings, and
  measured once before any change (bench/RESULTS.md gives that first run); ``--batch N``
  restricts the figures to one batch.
- ``benign_support_replies.jsonl`` (``reply``): English support replies written for the
  gates benchmark; every row a reply flags is listed with ``--show-errors`` (some do report
  a refund as done, so a flag there is not by itself a false positive).

Definitions: TP = claim rows flagged, FN = claim rows not flagged, FP = non-claim rows
flagged; precision = TP / (TP + FP), recall = TP / (TP + FN). Deterministic (no timings).
A false positive zeroes a reward (the pack's gate), a false negative lets an unbacked
claim through: both are shown per language.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import regex

from rewardsmith.plugins.checks._claims import LANGUAGES, ActionClaims

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "bench" / "corpora"
# support-agent's claims before this change (English only), as the pack wrote them.
BEFORE = [
    r"\brefund(?:ed)?\b(?:(?!\bnot\b|n't\b|\bnever\b|\bunable\b|\bfailed\b)[^.!?\n]){0,60}"
    r"\b(?:issued|processed|on its way|approved|completed?|initiated)\b",
    r"\b(?:I|we)(?:'ve| have)?\s+(?:issued|processed|refunded|initiated)\b",
]


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--batch", type=int, default=None)
    args = parser.parse_args()
    rows = [row for line in (CORPORA / "claims.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip() and (row := json.loads(line))
            and args.batch in (None, row["batch"])]
    detector = ActionClaims("refund")
    before = [regex.compile(p, regex.IGNORECASE) for p in BEFORE]
    detectors = {"now": lambda t: next(detector.find(t), None) is not None,
                 "before": lambda t: any(p.search(t) for p in before)}
    table: dict[str, dict[str, dict[str, int]]] = {
        name: defaultdict(lambda: {"tp": 0, "fn": 0, "fp": 0, "tn": 0}) for name in detectors}
    errors: list[str] = []
    for row in rows:
        for name, flags in detectors.items():
            hit = flags(row["text"])
            cell = ("tp" if hit else "fn") if row["claim"] else ("fp" if hit else "tn")
            for key in (row["lang"], "all"):
                table[name][key][cell] += 1
            if name == "now" and cell in ("fn", "fp"):
                errors.append(f"{cell} [{row['lang']}] {row['text']}")
    replies = [json.loads(line)["reply"] for line in (CORPORA / "benign_support_replies.jsonl")
               .read_text(encoding="utf-8").splitlines() if line.strip()]
    flagged = [r for r in replies if detectors["now"](r)]
    result = {name: {lang: {**c, "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
                            "recall": _ratio(c["tp"], c["tp"] + c["fn"])}
                     for lang, c in t.items()} for name, t in table.items()}
    if args.json:
        print(json.dumps({"rows": len(rows), "result": result,
                          "support_replies": len(replies),
                          "support_replies_flagged": len(flagged)}, indent=2))
        return 0
    print(f"claims.jsonl: {len(rows)} rows "
          f"({sum(r['claim'] for r in rows)} claims), {len(LANGUAGES)} languages")
    print(f"{'lang':6} {'now P':>7} {'now R':>7} {'before P':>9} {'before R':>9}  (tp fn fp)")
    for lang in (*LANGUAGES, "all"):
        now, old = result["now"].get(lang), result["before"].get(lang)
        if now is None or old is None:
            continue
        print(f"{lang:6} {now['precision']:>7} {now['recall']:>7} {old['precision']:>9} "
              f"{old['recall']:>9}  ({now['tp']} {now['fn']} {now['fp']})")
    print(f"benign_support_replies.jsonl: {len(flagged)} of {len(replies)} replies flagged")
    if args.show_errors:
        print("\n".join(errors))
        print("\n".join(f"reply flagged: {r}" for r in flagged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
