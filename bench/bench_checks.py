"""Deterministic checks: cost per call of each check, and the json-extraction pack per
sample, as ratios to a baseline measured in the same run.

    .venv/bin/python bench/bench_checks.py [--calls 10000]

Per-check figures call ``score`` directly on the 24 example rollouts
(examples/rollouts/json-extraction.jsonl, cycled) — the baseline is ``orjson.loads`` of
the same responses, the one parse no JSON check can avoid. The pack figures score
``--calls`` samples through ``Scorer.score`` (one batch), against a pack holding only
``json-valid``. The text rows call the checks that read words on short replies in seven
scripts (``TEXTS``: Chinese, Japanese, Thai, Korean, Arabic, English, and a Chinese loop),
against NFKC + case-folding of the same texts. Only ratios within one run are meant to be
compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import unicodedata
from pathlib import Path
from typing import Any

import orjson

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.logs import configure_logging
from rewardsmith.core.sample import parse_sample

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "rollouts" / "json-extraction.jsonl"
PACKS = ROOT / "src" / "rewardsmith" / "rubric_packs"
X = ["think", "fences"]
CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("json-valid", {"extract": X}),
    ("json-schema", {"extract": X, "schema_file": "schemas/invoice.schema.json"}),
    ("required-fields", {"extract": X, "fields": ["vendor.name", "line_items[].amount"]}),
    ("length", {"unit": "tokens", "max": 400, "falloff": 400}),
    ("language-match", {"expected": "en", "min_chars": 1, "min_confidence": 0.0}),
    ("regex", {"require": [r'"total"\s*:\s*\d'], "forbid": [r"(?i)as an ai"]}),
    ("keywords", {"required": ["invoice_number", "total"], "forbidden": ["lorem ipsum"]}),
    ("reference-match", {"extract": X, "mode": "json_fields", "penalize_extra": True}),
    ("repetition", {"extract": X, "items_path": "line_items", "max_ngram_repeat": 0.3}),
    ("unicode-hygiene", {}),
    ("pii", {}),
    ("tool-call-valid", {"embedded": True}),
    ("grounding", {"extract": X, "spans_from": "json", "include_numbers": True}),
    ("injection", {}),
]

TEXT_CONFIGS: list[tuple[str, str, dict[str, Any]]] = [
    ("keywords", "keywords", {"required": ["退款", "refund"], "forbidden": ["承诺", "promise"],
                              "min_required_fraction": 0.5}),
    ("repetition", "repetition", {}),
    ("length (words)", "length", {"unit": "words", "max": 400}),
    ("length (tokens)", "length", {"unit": "tokens", "max": 400}),
    ("unicode-hygiene", "unicode-hygiene", {}),
    ("language-match", "language-match", {"expected": "zh", "min_chars": 1,
                                          "min_confidence": 0.0}),
]
TEXTS = [
    "感谢您联系我们的客服中心。关于您的退货申请，我们已经完成审核，款项将在三到五个工作日内退回。",  # noqa: RUF001
    "お問い合わせいただきありがとうございます。ご注文の商品は本日午後に発送いたしました。",
    "ขอบคุณที่ติดต่อเรา คำสั่งซื้อของคุณได้รับการจัดส่งแล้วเมื่อเช้านี้",
    "문의해 주셔서 감사합니다. 주문하신 상품은 오늘 오후에 발송되었습니다.",
    "شكرا لتواصلك معنا. تم شحن طلبك صباح اليوم، ويمكنك متابعة حالة الشحنة عبر رقم التتبع.",
    "Thanks for reaching out. Your refund was issued today and should arrive within five "
    "working days; the receipt is attached.",
    "请您稍等，我们正在核实订单信息。" * 14,  # noqa: RUF001
]


def per_call_us(fn: Any, items: list[Any], calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        # a check that raises (abstains) still did its work
        with contextlib.suppress(ComponentError, orjson.JSONDecodeError):
            fn(items[i % len(items)])
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    configure_logging(level="warning")
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    samples = [parse_sample(row, i) for i, row in enumerate(rows)]
    host = make_plugin_host(allow=["checks", "packs"])

    base = per_call_us(lambda s: orjson.loads(s.response) if s.response[:1] == "{" else None,
                       samples, args.calls)
    print(f"| orjson.loads of the response (baseline) | {base:.1f} | 1.0 |")
    for type_name, options in CONFIGS:
        cls = host.components[type_name].value
        config = cls.Config.model_validate({"type": type_name, "id": "c", **options})
        check = cls(config, ComponentContext(search_paths=(PACKS,)))
        per_call_us(check.score, samples, len(samples))  # warm caches and lazy models
        us = per_call_us(check.score, samples, args.calls)
        print(f"| {type_name} | {us:.1f} | {us / base:.1f} |")

    texts = [parse_sample({"id": f"t{i}", "messages": [
        {"role": "user", "content": "Where is my refund?"},
        {"role": "assistant", "content": text}]}, i) for i, text in enumerate(TEXTS)]
    text_base = per_call_us(lambda s: unicodedata.normalize("NFKC", s.response).casefold(),
                            texts, args.calls)
    print(f"| NFKC + casefold of a reply (text baseline) | {text_base:.1f} | 1.0 |")
    for label, type_name, options in TEXT_CONFIGS:
        cls = host.components[type_name].value
        config = cls.Config.model_validate({"type": type_name, "id": "c", **options})
        check = cls(config, ComponentContext(search_paths=(PACKS,)))
        per_call_us(check.score, texts, len(texts))
        us = per_call_us(check.score, texts, args.calls)
        print(f"| text: {label} | {us:.1f} | {us / text_base:.1f} |")

    batch = [dict(rows[i % len(rows)], id=f"s{i}") for i in range(args.calls)]
    minimal = ROOT / "bench" / "_json_only.toml"
    minimal.write_text('[pack]\nname = "json-only"\nversion = "1"\n\n[[components]]\n'
                       'id = "json"\ntype = "json-valid"\nextract = ["think", "fences"]\n')
    try:
        timings = {}
        for label, spec in (("json-valid only pack (baseline)", minimal),
                            ("json-extraction pack (8 checks)", "json-extraction")):
            scorer = Scorer(load_pack(spec, host))
            scorer.score(batch[:50])
            started = time.perf_counter()
            scorer.score(batch)
            timings[label] = (time.perf_counter() - started) / len(batch) * 1e6
            scorer.close()
    finally:
        minimal.unlink()
    first = next(iter(timings.values()))
    for label, us in timings.items():
        print(f"| {label} | {us:.1f} | {us / first:.1f} |")


if __name__ == "__main__":
    main()
