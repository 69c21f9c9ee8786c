"""The detector corpora (bench/corpora) have the size and spread the issue asks for, and every
pii / injection gate of a built-in pack, configured as the pack configures it, keeps
precision >= 0.99 on them: a behavioural guard that a pattern change which starts zeroing
ordinary replies fails CI (figures: bench/detectors.py, bench/RESULTS.md)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from rewardsmith import load_pack
from rewardsmith.core.sample import parse_sample
from rewardsmith.plugins.checks.injection import ALL_KINDS as INJECTION_KINDS
from rewardsmith.plugins.checks.pii import ALL_KINDS as PII_KINDS

BENCH = Path(__file__).resolve().parents[3] / "bench" / "detectors.py"
BUILTIN_PACKS = ["contract-review", "customer-support", "json-extraction", "tool-calling"]
LANGUAGES = {"zh", "ja", "ko", "es", "fr", "de", "pt", "ru", "ar", "it", "nl", "tr", "vi", "hi",
             "id", "th"}
ENCODINGS = {"base64", "fullwidth", "zero_width", "tag_chars", "homoglyph"}


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("_detectors_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpora(bench) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return bench.load_corpus("benign"), bench.load_corpus("attack")


def test_corpora_sizes_and_spread(corpora):
    benign, attack = corpora
    assert len(benign) >= 300 and len(attack) >= 150
    assert len({r["text"] for r in benign}) == len(benign)
    assert len({r["text"] for r in attack}) == len(attack)
    # Batch 1 was tuned on; batches 2-4 were measured once first (bench/RESULTS.md); batch 5
    # holds the new-user tester's cases (issue 9 round 3), written with their fixes; batch 6
    # the second attacker pass's (Serbian, Bengali, logs, citations), also with their fixes.
    assert {r.get("batch") for r in benign + attack} == {1, 2, 3, 4, 5, 6}
    benign_kinds = Counter(r["kind"] for r in benign)
    for kind in ("support", "legal", "insurance", "email", "meeting", "science", "code", "log",
                 "cjk", "rtl", "meta"):
        assert benign_kinds[kind] >= 10, kind
    for row in attack:
        allowed = PII_KINDS if row["detector"] == "pii" else INJECTION_KINDS
        assert row["detector"] in {"pii", "injection"} and row["kind"] in allowed, row
    attack_kinds = Counter((r["detector"], r["kind"]) for r in attack)
    for kind in PII_KINDS:
        assert attack_kinds["pii", kind] >= 5, kind
    for kind in INJECTION_KINDS:
        assert attack_kinds["injection", kind] >= 10, kind
    injection_langs = {r["lang"] for r in attack if r["detector"] == "injection"}
    assert injection_langs >= LANGUAGES | {"en"}
    assert {r.get("encoding") for r in attack} >= ENCODINGS


def test_phone_attacks_span_many_countries(corpora):
    regions = set()
    for row in corpora[1]:
        if row["kind"] == "phone":
            for region in ("ZZ", "US", "GB", "FR", "DE", "AU"):
                for match in phonenumbers.PhoneNumberMatcher(row["text"], region):
                    regions.add(phonenumbers.region_code_for_number(match.number))
    assert len(regions) >= 15, regions


def _gates() -> list[tuple[str, Any]]:
    gates = []
    for name in BUILTIN_PACKS:
        for component in load_pack(name).components:
            if component.config.gate is not None and component.config.type in {"pii",
                                                                                "injection"}:
                gates.append((f"{name}:{component.config.id}", component))
    return gates


GATES = _gates()


def test_every_builtin_pack_gates_on_injection_and_the_support_pack_on_pii():
    names = {name for name, _ in GATES}
    assert {f"{p}:injection" for p in BUILTIN_PACKS} <= names
    assert "customer-support:pii" in names


@pytest.mark.parametrize(("name", "gate"), GATES, ids=[n for n, _ in GATES])
def test_builtin_gates_keep_precision_on_the_corpora(name, gate, corpora):
    benign, attack = corpora
    family = gate.config.type

    def blocked(row: dict[str, Any]) -> bool:
        # A row may carry the prompt it quotes and the sample's tools (bench/detectors.py).
        raw: dict[str, Any] = {"messages": [
            {"role": "user", "content": row.get("prompt") or "Answer."},
            {"role": "assistant", "content": row["text"]}]}
        if row.get("tools"):
            raw["tools"] = row["tools"]
        return gate.score(parse_sample(raw, 0)).passed is False

    false_positives = [r["text"] for r in benign if blocked(r)]
    kinds = set(gate.config.detect if family == "pii" else gate.config.kinds)
    targets = [r for r in attack if r["detector"] == family and r["kind"] in kinds]
    true_positives = sum(blocked(r) for r in targets)
    precision = true_positives / (true_positives + len(false_positives))
    assert precision >= 0.99, (name, precision, false_positives[:5])
    # Precise because it still catches what it gates on, not because it flags nothing.
    assert true_positives / len(targets) >= 0.9, (name, true_positives, len(targets))
