# Multilingual patterns: their non-ASCII letters and punctuation are the point.
# ruff: noqa: RUF001
"""Built-in, multilingual claim vocabularies for ``tool-claims``: phrases by which an answer
reports an action as *done* ("your refund has been issued", "He emitido el reembolso",
"退款已处理", "Die Erstattung wurde veranlasst"), per action, in the languages the
injection check covers (en, zh, ja, ko, es, fr, de, pt, ru, ar, it, nl, tr, vi, hi, id, th,
sr/hr/bs in both alphabets, bn).

A pack names an action (``claims = [{action = "refund", tool = "refund_order"}]``) instead
of writing a regex per language. Each language has two patterns: the claim (an action word
and a completion marker, in either order, within one clause: affirmative past or perfect
forms only, so an offer, "I can process the refund", is not a claim) and its negation
words; a claim is dropped when a negation of its language occurs in its clause before or
inside it ("no se ha emitido el reembolso", "退款未成功", "the refund was not issued"), or
a conditional ("if", "si", "如果", "場合") in its sentence before it: a promise on a
condition is not a report of a done action.
Languages whose negation is a verb suffix (Turkish "edilmedi", Korean "되지 않았",
Japanese "できません", Bengali "হয়নি") are covered by the affirmative forms not matching.

Text is folded first (``_text.fold``: NFKC, invisible characters dropped, case-folded;
then the combining dot that case-folding leaves on Turkish "İ" removed). Latin and
Cyrillic word boundaries are script-aware (``_segment.script_bounded``), so a claim glued
to Han or Thai text still matches; Han, kana, Hangul, Thai and the Indic scripts are
matched without word boundaries. Every pattern is linear: bounded gaps, no nested
quantifiers. Measured precision and recall on ``bench/corpora/claims.jsonl``:
``bench/claims.py`` (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import regex

from rewardsmith.plugins.checks._segment import script_bounded
from rewardsmith.plugins.checks._text import fold

# A gap inside one clause: no sentence or clause end crossed.
_GAP = r"[^.!?;\n。！？；।]{0,40}?"
# Where the clause a negation must share with a claim starts (commas too: "No problem,
# your refund has been issued" is a claim), and where a sentence starts.
_CLAUSE_END = regex.compile(r"[.!?;,\n。！？；，、।]")
_SENTENCE_END = regex.compile(r"[.!?;\n。！？；।]")


def _either(action: str, done: str) -> str:
    """The action then the completion marker, or the marker then the action."""
    return rf"(?:(?:{action}){_GAP}(?:{done})|(?:{done}){_GAP}(?:{action}))"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# (claim, negation) per language, for the action "refund". Sources for the forms: each
# language's standard past participle / perfect of "refund", "issue", "process",
# "complete" as support replies use them.
_REFUND: dict[str, tuple[str, str]] = {
    "en": (  # action then marker only: "please complete the refund form" is no claim
        r"\brefund(?:ed|s)?\b" + _GAP + r"\b(?:issued|processed|on its way|approved|completed|"
        r"initiated|credited|gone through|went through)\b"
        + r"|\b(?:i|we)(?:'ve| have)?\s+(?:issued|processed|refunded|initiated|credited)\b"
        + r"|\b(?:has|have|was|were|been)\s+refunded\b",
        r"\b(?:not|never|unable|failed|cannot|can't|couldn't|won't|didn't|hasn't|haven't|"
        r"wasn't|isn't|no)\b|n't\b"),
    "es": (
        _either(r"\breembols\w{0,6}|\bdevoluci[oó]n del (?:dinero|importe)\b",
                r"\b(?:emitid[oa]s?|procesad[oa]s?|realizad[oa]s?|tramitad[oa]s?|aprobad[oa]s?|"
                r"completad[oa]s?|efectuad[oa]s?|enviad[oa]s?|emit[ií]|proces[eé]|tramit[eé]|"
                r"realic[eé]|en camino)\b")
        + r"|\breembols(?:é|e|amos|ado|ada)\b",
        r"\b(?:no|nunca|jam[aá]s|sin|todav[ií]a no|a[uú]n no|imposible|fall[oó])\b"),
    "fr": (
        _either(r"\brembours\w{0,7}",
                r"\b(?:effectu[ée]e?s?|[ée]mise?s?|trait[ée]e?s?|valid[ée]e?s?|approuv[ée]e?s?|"
                r"envoy[ée]e?s?|en cours d'acheminement|en route)\b")
        + r"|\brembours[ée]e?s?\b",
        r"\b(?:pas|jamais|aucun|aucune|impossible|ne|échoué)\b|\bn'"),
    "de": (
        _either(r"\b(?:rück)?erstatt\w{0,6}|\brückzahlung\b|\bgutschrift\b",
                r"\b(?:veranlasst|durchgeführt|ausgestellt|bearbeitet|angewiesen|genehmigt|"
                r"abgeschlossen|erfolgt|ausgezahlt|überwiesen|unterwegs)\b")
        + r"|\b(?:zurückerstattet|erstattet|gutgeschrieben)\b",
        r"\b(?:nicht|kein|keine|keinen|nie|niemals|noch nicht|fehlgeschlagen)\b"),
    "pt": (
        _either(r"\breembols\w{0,6}|\bestorn\w{0,4}",
                r"\b(?:emitid[oa]s?|processad[oa]s?|realizad[oa]s?|aprovad[oa]s?|"
                r"conclu[ií]d[oa]s?|efetuad[oa]s?|enviad[oa]s?|feito|a caminho)\b")
        + r"|\b(?:reembolsei|reembolsamos|estornei|estornamos)\b",
        r"\b(?:não|nao|nunca|jamais|sem|ainda não|imposs[ií]vel|falhou)\b"),
    "it": (
        _either(r"\brimbors\w{0,6}",
                r"\b(?:emess[oa]|effettuat[oa]|elaborat[oa]|approvat[oa]|completat[oa]|"
                r"dispost[oa]|inviat[oa]|accreditat[oa]|in arrivo)\b")
        + r"|\brimborsat[oaie]\b",
        r"\b(?:non|mai|impossibile|fallit[oa])\b"),
    "nl": (
        _either(r"\b(?:terugbetal\w{0,4}|terugbetaald|restitutie|terugstorting|"
                r"geld terug)\b",
                r"\b(?:verwerkt|uitgevoerd|goedgekeurd|verstuurd|voltooid|overgemaakt|"
                r"gestort|onderweg)\b")
        + r"|\b(?:terugbetaald|teruggestort)\b",
        r"\b(?:niet|geen|nooit|nog niet|mislukt)\b"),
    "ru": (
        _either(r"\bвозврат\w{0,4}|\bвернул\w{0,2}\s+(?:вам\s+)?(?:деньги|средства)",
                r"\b(?:оформлен\w{0,2}|выполнен\w{0,2}|произвед[её]н\w{0,2}|"
                r"осуществл[её]н\w{0,2}|одобрен\w{0,2}|заверш[её]н\w{0,2}|"
                r"отправлен\w{0,2}|оформил\w{0,2}|сделал\w{0,2}|прош[её]л)\b")
        + r"|\bвернул\w{0,2}\s+(?:вам\s+)?(?:деньги|средства)\b"
        + r"|\b(?:мы|я)\s+(?:уже\s+)?вернул\w{0,2}\b",
        r"\b(?:не|нет|ни|никогда|невозможно)\b"),
    "sr": (  # Serbian, Croatian, Bosnian; Latin and Cyrillic
        _either(r"\b(?:povrat\w{0,2}|refundacij\w|refundiran\w{0,2}|поврат\w{0,2})\b",
                r"\b(?:izvršen\w?|odobren\w?|obrađen\w?|uplaćen\w?|proveden\w?|"
                r"извршен\w?|одобрен\w?|обрађен\w?|уплаћен\w?)\b")
        + r"|\bvratio\s+sam\s+(?:vam\s+)?novac\b|\bвратио\s+сам\s+(?:вам\s+)?новац\b"
        + r"|\bnovac\s+(?:vam\s+)?je\s+vraćen\b|\bновац\s+(?:вам\s+)?је\s+враћен\b"
        + r"|\b(?:uplatili|уплатили)\s+(?:smo|смо)\b" + _GAP + r"\b(?:povrat|поврат)",
        r"\b(?:ne|nije|nisu|nisam|nismo|nikad|не|није|нису|нисам|никад)\b"),
    "tr": (
        r"\biade\w{0,4}\s+(?:işleminiz\s+|işlemi\s+)?(?:edildi|ettim|ettik|edilmiştir|"
        r"tamamlandı|gerçekleştirildi|yapıldı|onaylandı|başlatıldı|gönderildi)"
        r"|\bücret\w{0,4}\s+iade\s+(?:edildi|edilmiştir)",
        r"\b(?:değil|henüz|başarısız)\b"),
    "id": (
        _either(r"\b(?:pengembalian dana|refund|dana)\b",
                r"\b(?:telah|sudah)\s+(?:kami\s+|saya\s+)?(?:diproses|dikembalikan|dikirim|"
                r"disetujui|diterbitkan|kembalikan|proses|refund|selesai)\b|\bberhasil\b")
        + r"|\b(?:telah|sudah)\s+(?:kami\s+|saya\s+)?(?:refund|kembalikan|mengembalikan)\b",
        r"\b(?:tidak|belum|gagal|bukan|tak)\b"),
    "vi": (
        r"\bđã\s+(?:được\s+)?(?:hoàn tiền|hoàn trả|hoàn lại)\b"
        r"|\b(?:hoàn tiền|hoàn trả)\b" + _GAP + r"\b(?:đã được (?:xử lý|thực hiện|duyệt|"
        r"chuyển)|thành công|hoàn tất|xong)\b",
        r"\b(?:không|chưa|chẳng|thất bại)\b"),
    "zh": (
        r"(?:已经?|成功)(?:为您|為您|给您|給您|帮您|幫您)?(?:办理|辦理|处理|處理|发起|發起|完成|提交)?了?"
        r"(?:全额|全額)?(?:退款|退费|退費)"
        r"|(?:退款|退费|退費)[^。！？!?\n]{0,10}?(?:已经?|成功)(?:办理|辦理|处理|處理|发放|發放|完成|"
        r"提交|到账|到賬|退回|发起|發起)?"
        r"|(?:退款|退费|退費)[^。！？!?\n]{0,6}?(?:处理完毕|處理完畢|办理完成|辦理完成)"
        r"|已经?(?:将|將|把)[^。！？!?\n]{0,12}?(?:退回|退还|退還)",
        r"未|没有|沒有|没|沒|无法|無法|不能|尚未|失败|失敗|不"),
    "ja": _nfkc(
        r"返金(?:を|の|が)?(?:お手続き|手続き|処理)?(?:を|が)?(?:いた|致)?(?:しました|完了しました|"
        r"完了いたしました|行いました|済み|済です|完了です)"
        r"|返金(?:いた|致)?しました", ),
    "ko": (
        r"환불(?:이|을|를|은)?\s?(?:처리(?:가)?\s?)?(?:했습니다|되었습니다|됐습니다|완료되었습니다|"
        r"완료했습니다|완료됐습니다|해\s?드렸습니다|승인되었습니다|승인됐습니다|완료)",
        r"(?<!\w)(?:안|못)\s|않|실패|없"),
    "ar": (
        r"تمت?\s+(?:إصدار|اصدار|معالجة|تنفيذ|إرسال|ارسال)?\s?(?:ال)?(?:استرداد|استرجاع|"
        r"رد المبلغ|إرجاع المبلغ|ارجاع المبلغ)"
        r"|(?:لقد\s+)?(?:استرددت|أعدت|اعدت|أعدنا|اعدنا|أرجعت|ارجعت|أرجعنا|ارجعنا)\s+(?:لك\s+)?"
        r"(?:المبلغ|أموالك|اموالك|\d)",
        r"(?<!\w)(?:لم|لا|لن|ليس)(?!\w)|تعذر|فشل"),
    "hi": _nfkc(
        r"(?:रिफंड|रिफ़ंड|धनवापसी|पैसे\s+वापस)[^।!?\n]{0,20}?(?:कर\s+दिया|कर\s+दी|कर\s+दिए|"
        r"हो\s+गया|हो\s+गई|जारी\s+कर|प्रोसेस\s+कर\s+दिया|हो\s+चुका|भेज\s+दिया)"),
    "th": (
        r"(?:ได้)?(?:คืนเงิน|เงินคืน)[^\n]{0,20}?(?:แล้ว|เรียบร้อย|สำเร็จ)"
        r"|ได้(?:ดำเนินการ)?คืนเงิน",
        r"ไม่|ยังไม่|ล้มเหลว"),
    "bn": _nfkc(
        r"(?:রিফান্ড|টাকা\s+ফেরত|অর্থ\s+ফেরত|ফেরত)[^।!?\n]{0,20}?(?:দেওয়া\s+হয়েছে|দেয়া\s+হয়েছে|"
        r"করা\s+হয়েছে|দিয়েছি|দিয়েছি|সম্পন্ন\s+হয়েছে|প্রক্রিয়া\s+করা\s+হয়েছে|অনুমোদিত\s+হয়েছে)"),
}

# Negation words for the languages written above as a bare claim (no negation listed):
# their negation is a verb ending the claim forms do not match.
_NO_WORD_NEGATION = {
    "ja": r"(?!)", "hi": _nfkc(r"नहीं|न\s|असफल|विफल"), "bn": _nfkc(r"(?<!\w)(?:না|নয়)(?!\w)|ব্যর্থ"),
}

# A claim under a condition is a promise at most ("If the order arrived damaged, a refund
# will be issued"), a habitual one a policy ("Refunds are usually processed within 3-5
# days"). Searched from the sentence start (commas crossed), unlike negations.
_CONDITIONAL = {
    "en": r"\b(?:if|once|unless|usually|typically|generally|normally)\b",
    "es": r"\b(?:si|una vez que|en cuanto|suelen?|normalmente|generalmente)\b",
    "fr": r"\b(?:si|dès que|une fois que|généralement|en général|habituellement)\b|\bs'",
    "de": r"\b(?:wenn|falls|sobald|normalerweise|in der regel|üblicherweise)\b",
    "pt": r"\b(?:se|caso|assim que|costumam?|geralmente|normalmente)\b",
    "it": r"\b(?:se|appena|qualora|di solito|solitamente|normalmente)\b",
    "nl": r"\b(?:als|zodra|indien)\b", "ru": r"\b(?:если|как только)\b",
    "sr": r"\b(?:ako|ukoliko|ако)\b", "tr": r"\b(?:eğer)\b|(?:rsa|rse)(?!\w)",
    "id": r"\b(?:jika|kalau|apabila)\b", "vi": r"\b(?:nếu)\b",
    "zh": r"如果|若|一旦|假如", "ja": r"場合|たら|れば", "ko": r"면\s|경우",
    "ar": r"(?<!\w)(?:إذا|اذا|لو|عادة|عادةً)(?!\w)",
    "hi": _nfkc(r"अगर|यदि"), "th": r"ถ้า|หาก", "bn": _nfkc(r"যদি"),
}

ACTIONS: dict[str, dict[str, tuple[str, str]]] = {"refund": {
    lang: (v, _NO_WORD_NEGATION[lang]) if isinstance(v, str) else v
    for lang, v in _REFUND.items()}}
LANGUAGES: tuple[str, ...] = tuple(_REFUND)


@dataclass(frozen=True)
class ClaimHit:
    """A claim found: its language, the matched text (folded) and where it starts."""

    lang: str
    text: str
    start: int


def _compile(source: str) -> regex.Pattern[str]:
    # Latin/Cyrillic \b made script-aware; the other scripts' patterns have no \b.
    return regex.compile(script_bounded(_nfkc(source)) if r"\b" in source else _nfkc(source))


class ActionClaims:
    """The compiled claim and negation patterns of one action, every language."""

    def __init__(self, action: str) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown claim action {action!r}; known: {sorted(ACTIONS)}")
        self.action = action
        self._langs = [(lang, _compile(claim), _compile(negation),
                        _compile(_CONDITIONAL[lang]))
                       for lang, (claim, negation) in ACTIONS[action].items()]

    def find(self, text: str) -> Iterator[ClaimHit]:
        """Every non-negated claim of the action in ``text`` (any language), in language
        order, then position."""
        folded = fold(text).replace("\u0307", "")  # Turkish "İ" folds to i + dot above
        for lang, claim, negation, conditional in self._langs:
            for m in claim.finditer(folded):
                if not (negation.search(folded, _start(_CLAUSE_END, folded, m.start()), m.end())
                        or conditional.search(folded, _start(_SENTENCE_END, folded, m.start()),
                                              m.end())):
                    yield ClaimHit(lang, m.group(0), m.start())


def _start(ends: regex.Pattern[str], text: str, pos: int) -> int:
    """Where the clause or sentence holding ``pos`` starts (looked for within 160
    characters, so the scan stays linear)."""
    floor = max(0, pos - 160)
    return max((e.end() for e in ends.finditer(text, floor, pos)), default=floor)
