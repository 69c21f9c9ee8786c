"""Every gate of every built-in pack (pii and injection aside: tests/plugins/checks/
test_detector_corpora.py) lets at least 99 % of benign replies through, measured by
bench/gates.py on bench/corpora (issue 9, build item 2). A pattern or threshold change that
starts zeroing correct replies fails here; the pack suites (test_suites.py, `rewardsmith
packs test`) hold the bad cases each gate must still catch."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rewardsmith import load_pack

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gates.py"


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("_gates_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def items(bench) -> dict[str, list[Any]]:
    return bench.load_items()


@pytest.fixture(scope="module")
def figures(bench, items) -> list[Any]:
    return bench.measure(items)


def test_every_gate_of_every_builtin_pack_is_measured(bench, figures) -> None:
    expected = {(name, c.config.id) for name in bench.BUILTIN_PACKS
                for c in load_pack(name).components
                if c.config.gate is not None and c.config.type not in {"pii", "injection"}}
    assert {(f.pack, f.gate) for f in figures} == expected


def test_every_gate_keeps_precision_099_on_benign_replies(figures) -> None:
    low = {f"{f.pack}/{f.gate}": (round(f.precision, 4), f.blocked[:3])
           for f in figures if f.precision < 0.99}
    assert not low


def test_every_gate_is_measured_on_enough_replies(bench, figures) -> None:
    for f in figures:
        text_gate = f.pack in bench.TEXT_PACKS or f.type in bench.TEXT_TYPES
        if text_gate:
            assert f.corpora["text"][1] >= 300 and f.corpora["support"][1] >= 100, f
        else:
            assert f.corpora["structured"][1] >= 15, f


def test_support_corpus_holds_the_reported_correct_replies(items) -> None:
    support = items["support"]
    assert len(support) >= 100
    ids = {i.id for i in support}
    # H6/M5: policy-compliant wording the promises / repetition gates zeroed.
    for case in ("pw-policy", "no-guarantee", "damaged-full-refund", "refund-outside",
                 "promise-followup", "forever-free"):
        assert f"tester-cs-gates-{case}" in ids
    assert "tester-cs-rep-en-list" in ids and "list-three-orders" in ids
    # H2: short user turns; M1: Malay/Indonesian, kanji-only Japanese, a quoted German line.
    assert {"short-hi", "short-ok-thanks", "short-late"} <= ids
    assert {"tester-cs-lang2-id-id", "tester-cs-lang2-ja-kanji",
            "tester-cs-lang2-en-with-quote-de"} <= ids
    languages = Counter(i.lang for i in support)
    assert len(languages) >= 15 and languages["en"] <= 0.6 * len(support)


def test_structured_corpus_holds_locale_invoices(items) -> None:
    ids = {i.id for i in items["structured"]}
    assert {"json-extraction:je-de-invoice", "json-extraction:je-fr-invoice",
            "json-extraction:je-in-invoice"} <= ids
