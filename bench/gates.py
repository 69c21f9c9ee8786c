# ruff: noqa: RUF001  (customer messages in many scripts)
"""Precision of every gate of every built-in pack on benign input (issue 9, build item 2).

A gate zeroes (or nearly zeroes) a reply's reward, so it must not fire on correct replies:
the built-in packs gate only where the share of benign replies a gate lets through is at
least 0.99. This script measures that share for every gate of every built-in pack except
``pii`` and ``injection`` (those are measured per kind by ``bench/detectors.py``).

Benign input (nothing here should be gated):

- ``text``: ``bench/corpora/benign.jsonl`` (support replies, legal, insurance, e-mails,
  meeting notes, science, code, logs, CJK and RTL text). Each text is the reply; the user
  turn is a stock customer message in the text's language (``USER_TURNS``), so the
  language gate has a customer to match.
- ``support``: ``bench/corpora/benign_support_replies.jsonl``: correct customer-support
  replies with their real user turns (short turns, templated lists, several languages,
  policy wording near the ``promises`` red lines).
- ``structured``: correct answers of the JSON packs: each pack suite's golden cases that
  must not be gated and the better side of its pairs
  (``src/rewardsmith/rubric_packs/tests/*.jsonl``), and
  ``bench/corpora/benign_structured.jsonl`` (more correct extractions).

Text corpora feed the gates that read prose (every gate of customer-support, the
unicode-hygiene gates of the other packs); the structured corpus feeds every gate of the
JSON packs. A gate's decision is the engine's own: the component is called as the engine
calls it (``Scorer._call_sync``) and ``Scorer._record_gate`` says whether the sample is
gated, so the run measures the installed version's engine rules (abstention, fail-closed)
as well as its checks and packs.

Before/after: run the same script with the interpreter of a checkout of the old code, e.g.
``<old>/.venv/bin/python bench/gates.py`` where ``<old>`` is a checkout of 6707099 with
``pip install '.[lang]'`` in its own venv, then ``.venv/bin/python bench/gates.py`` here;
``--json`` writes the figures for a diff.

Usage::

    python bench/gates.py [--show-blocked] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rewardsmith import Scorer, load_pack
from rewardsmith.core.sample import Sample, parse_sample

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "bench" / "corpora"
SUITES = ROOT / "src" / "rewardsmith" / "rubric_packs" / "tests"
BUILTIN_PACKS = ("customer-support", "json-extraction", "tool-calling", "contract-review")
# Measured by bench/detectors.py, per kind.
SKIPPED_TYPES = frozenset({"pii", "injection"})
# Gates that read prose; every other gate of a JSON pack reads the structured answer.
TEXT_PACKS = frozenset({"customer-support"})
TEXT_TYPES = frozenset({"unicode-hygiene"})
THRESHOLD = 0.99

# The support policy of the customer-support suite (its system turn), so the replies are
# scored in the setting the pack is built for.
POLICY = (
    "You are a support agent for Northwind Goods, an online home-goods shop. Follow this "
    "policy. (1) Refunds: unused items returned within 30 days of delivery get a full refund "
    "to the original payment method. After 30 days there is no refund; defective items get "
    "store credit. (2) Damaged on arrival: the customer chooses a free replacement or a full "
    "refund; send a prepaid return label. (3) Late deliveries: if an order arrives more than 5 "
    "business days after the promised date, refund the shipping fee. Never promise a delivery "
    "date the carrier has not confirmed. (4) Accounts: a locked account is unlocked only "
    "through the identity-verification link sent to the registered e-mail. Never ask for or "
    "reveal passwords or full card numbers. (5) Be courteous, never blame the customer, and "
    "reply in the customer's language. Hotline: +1 800 555 0199, support@northwind.example."
)
# A customer's message in each language of bench/corpora/benign.jsonl.
USER_TURNS = {
    "en": "Hi, I have a question about my order NW-482913 and the information you sent me. "
          "Can you help?",
    "de": "Hallo, ich habe eine Frage zu meiner Bestellung NW-482913 und zu den Informationen, "
          "die Sie mir geschickt haben. Können Sie mir helfen?",
    "fr": "Bonjour, j'ai une question sur ma commande NW-482913 et sur les informations que "
          "vous m'avez envoyées. Pouvez-vous m'aider ?",
    "es": "Hola, tengo una pregunta sobre mi pedido NW-482913 y la información que me "
          "enviaron. ¿Me pueden ayudar?",
    "pt": "Olá, tenho uma dúvida sobre a minha encomenda NW-482913 e as informações que me "
          "enviaram. Podem ajudar?",
    "ru": "Здравствуйте, у меня вопрос по заказу NW-482913 и по информации, которую вы мне "
          "прислали. Можете помочь?",
    "zh": "你好，我想问一下我的订单NW-482913和你们发给我的信息，能帮我看看吗？",
    "ja": "こんにちは。注文NW-482913と、送っていただいた情報について質問があります。"
          "確認していただけますか？",
    "ko": "안녕하세요, 주문 NW-482913과 보내 주신 안내에 대해 질문이 있습니다. 도와주실 수 "
          "있나요?",
    "ar": "مرحبًا، لدي سؤال عن طلبي رقم NW-482913 وعن المعلومات التي أرسلتموها لي. هل "
          "يمكنكم المساعدة؟",
    "he": "שלום, יש לי שאלה לגבי ההזמנה שלי NW-482913 ולגבי המידע ששלחתם לי. תוכלו לעזור?",
    "fa": "سلام، درباره سفارش NW-482913 و اطلاعاتی که برایم فرستادید سؤال دارم. می‌توانید "
          "کمک کنید؟",
    "th": "สวัสดีค่ะ มีคำถามเกี่ยวกับคำสั่งซื้อ NW-482913 และข้อมูลที่ส่งมาให้ ช่วยตรวจสอบ"
          "ให้หน่อยได้ไหมคะ",
    "it": "Buongiorno, ho una domanda sul mio ordine NW-482913 e sulle informazioni che mi "
          "avete inviato. Potete aiutarmi?",
    "nl": "Hallo, ik heb een vraag over mijn bestelling NW-482913 en de informatie die u mij "
          "hebt gestuurd. Kunt u mij helpen?",
    "tr": "Merhaba, NW-482913 numaralı siparişim ve bana gönderdiğiniz bilgiler hakkında bir "
          "sorum var. Yardımcı olabilir misiniz?",
    "vi": "Xin chào, tôi có câu hỏi về đơn hàng NW-482913 và thông tin mà bạn đã gửi cho tôi. "
          "Bạn có thể giúp tôi không?",
    "id": "Halo, saya punya pertanyaan tentang pesanan saya NW-482913 dan informasi yang Anda "
          "kirimkan kepada saya. Bisakah Anda membantu?",
    "hi": "नमस्ते, मेरे ऑर्डर NW-482913 और आपके भेजे गए जानकारी के बारे में मेरा एक सवाल है। "
          "क्या आप मेरी मदद कर सकते हैं?",
    "sr": "Zdravo, imam pitanje o svojoj porudžbini NW-482913 i o informacijama koje ste mi "
          "poslali. Možete li da mi pomognete?",
    "bn": "নমস্কার, আমার অর্ডার NW-482913 এবং আপনার পাঠানো তথ্য নিয়ে আমার একটি প্রশ্ন আছে। "
          "আপনি কি আমাকে সাহায্য করতে পারবেন?",
}


@dataclass
class Item:
    """One benign reply as a sample, with where it comes from."""

    corpus: str
    id: str
    raw: dict[str, Any]
    pack: str | None = None  # structured items belong to one pack
    lang: str | None = None  # the language the reply is written in, when known

    def sample(self, scorer: Scorer) -> Sample:
        """The sample as the engine parses it for this pack (reasoning stripped if the
        pack says so, the pack's response size limit)."""
        meta = scorer.pack.meta
        return parse_sample(self.raw, 0, max_response_chars=meta.max_response_chars,
                            strip_reasoning_wrappers=meta.strip_reasoning)


@dataclass
class GateFigures:
    pack: str
    gate: str
    type: str
    corpora: dict[str, list[int]] = field(default_factory=dict)  # corpus -> [through, n]
    blocked: list[tuple[str, str, str]] = field(default_factory=list)  # corpus, id, why

    @property
    def n(self) -> int:
        return sum(n for _, n in self.corpora.values())

    @property
    def through(self) -> int:
        return sum(t for t, _ in self.corpora.values())

    @property
    def precision(self) -> float:
        return self.through / self.n if self.n else 1.0


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{number}: not JSON: {exc}") from None


def text_items() -> list[Item]:
    """bench/corpora/benign.jsonl: each text as a reply to a customer in its language."""
    items = []
    for number, row in enumerate(_jsonl(CORPORA / "benign.jsonl"), 1):
        user = USER_TURNS.get(row.get("lang", "en"))
        if user is None:
            raise SystemExit(f"benign.jsonl:{number}: no stock user turn for language "
                             f"{row.get('lang')!r}; add one to USER_TURNS")
        raw = {"id": f"benign-{number}", "messages": [
            {"role": "system", "content": POLICY}, {"role": "user", "content": user},
            {"role": "assistant", "content": row["text"]}]}
        items.append(Item("text", f"benign-{number}", raw, lang=row.get("lang", "en")))
    return items


def support_items() -> list[Item]:
    """bench/corpora/benign_support_replies.jsonl: replies with their real user turns."""
    items = []
    for number, row in enumerate(_jsonl(CORPORA / "benign_support_replies.jsonl"), 1):
        for key in ("id", "user", "reply"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise SystemExit(f"benign_support_replies.jsonl:{number}: missing {key!r}")
        raw = {"id": row["id"], "messages": [
            {"role": "system", "content": POLICY}, {"role": "user", "content": row["user"]},
            {"role": "assistant", "content": row["reply"]}]}
        items.append(Item("support", row["id"], raw, lang=row.get("lang")))
    return items


def structured_items() -> list[Item]:
    """Correct answers of the JSON packs: suite goldens that must not be gated, the better
    side of suite pairs, and bench/corpora/benign_structured.jsonl."""
    items = []
    for pack in BUILTIN_PACKS:
        if pack in TEXT_PACKS:
            continue
        for case in _jsonl(SUITES / f"{pack}.jsonl"):
            if case["kind"] == "golden" and case.get("expect", {}).get("status") == "ok":
                raw = case["sample"]
            elif case["kind"] == "pair":
                raw = case["better"]
            else:
                continue
            items.append(Item("structured", f"{pack}:{case['name']}", raw, pack))
    for number, row in enumerate(_jsonl(CORPORA / "benign_structured.jsonl"), 1):
        if row.get("pack") not in BUILTIN_PACKS or not isinstance(row.get("sample"), dict):
            raise SystemExit(f"benign_structured.jsonl:{number}: needs 'pack' (a built-in "
                             "pack) and 'sample'")
        items.append(Item("structured", f"{row['pack']}:{row['sample'].get('id', number)}",
                          row["sample"], row["pack"]))
    return items


def gates(pack_name: str) -> tuple[Scorer, list[Any]]:
    """The pack's scorer and its measured gates, in pack order."""
    scorer = Scorer(load_pack(pack_name))
    measured = [c for c in scorer.pack.components
                if c.config.gate is not None and c.config.type not in SKIPPED_TYPES]
    return scorer, measured


def lets_through(scorer: Scorer, component: Any, sample: Sample) -> tuple[bool, str]:
    """Whether this version's engine lets ``sample`` past ``component``'s gate, and why not."""
    outcome = scorer._call_sync(component, sample)
    state = SimpleNamespace(outcomes={}, gate=None, gate_reward=None, sample=sample)
    gated = scorer._record_gate(state, component, outcome)  # type: ignore[arg-type]
    why = outcome.error or outcome.rationale or ""
    if outcome.error_kind:
        why = f"[{outcome.error_kind}] {why}"
    return not gated, why


def measure(items: dict[str, list[Item]]) -> list[GateFigures]:
    figures: list[GateFigures] = []
    for pack_name in BUILTIN_PACKS:
        scorer, measured = gates(pack_name)
        for component in measured:
            row = GateFigures(pack_name, component.config.id, component.config.type)
            text_gate = pack_name in TEXT_PACKS or component.config.type in TEXT_TYPES
            for corpus, corpus_items in items.items():
                chosen = [i for i in corpus_items if _applies(i, pack_name, text_gate)]
                if not chosen:
                    continue
                through = 0
                for item in chosen:
                    ok, why = lets_through(scorer, component, item.sample(scorer))
                    through += ok
                    if not ok:
                        row.blocked.append((corpus, item.id, why))
                row.corpora[corpus] = [through, len(chosen)]
            figures.append(row)
    return figures


def _applies(item: Item, pack_name: str, text_gate: bool) -> bool:
    if item.corpus == "structured":
        return item.pack == pack_name
    return text_gate


def load_items() -> dict[str, list[Item]]:
    return {"text": text_items(), "support": support_items(),
            "structured": structured_items()}


def report(figures: list[GateFigures], show_blocked: bool) -> str:
    lines = ["| pack | gate | type | text | support | structured | precision |",
             "|---|---|---|---|---|---|---|"]
    for f in figures:
        cells = []
        for corpus in ("text", "support", "structured"):
            got = f.corpora.get(corpus)
            cells.append(f"{got[0]}/{got[1]}" if got else "-")
        mark = "" if f.precision >= THRESHOLD else " **< 0.99**"
        lines.append(f"| {f.pack} | {f.gate} | {f.type} | {' | '.join(cells)} | "
                     f"{f.precision:.3f}{mark} |")
    if show_blocked:
        for f in figures:
            for corpus, item_id, why in f.blocked:
                lines.append(f"  blocked {f.pack}/{f.gate} {corpus}:{item_id}: {why[:160]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-blocked", action="store_true",
                        help="list every benign item a gate blocked, with the reason")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    figures = measure(load_items())
    print(report(figures, args.show_blocked))
    if args.json is not None:
        args.json.write_text(json.dumps([
            {"pack": f.pack, "gate": f.gate, "type": f.type, "corpora": f.corpora,
             "precision": f.precision, "blocked": f.blocked} for f in figures],
            ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if all(f.precision >= THRESHOLD for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
