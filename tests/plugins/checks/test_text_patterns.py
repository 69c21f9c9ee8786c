"""regex and keywords."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rewardsmith import Scorer, load_pack, make_plugin_host
from rewardsmith.core.errors import ComponentError, PackError
from rewardsmith.plugins.checks._pack_regex import compile_pack_pattern
from rewardsmith.plugins.checks._pack_regex import search as pack_search
from rewardsmith.plugins.checks.text_patterns import Keywords, Regex

# Exponential backtracking even in the ``regex`` engine: every 'a' can be taken by either
# branch, and the trailing '!' makes every split fail (2**40 paths).
CATASTROPHIC = "(a|a)+$"
ADVERSARIAL = "a" * 40 + "!"


# -- regex --------------------------------------------------------------------------------
def test_regex_require_and_forbid(build, sample):
    check = build(Regex, require=[r"\bTotal:\s*\d+"], forbid=[r"(?i)as an ai"])
    assert check.score(sample("Total: 42")).passed
    missing = check.score(sample("Sum 42"))
    assert missing.passed is False and missing.value == 0.0 and "missing" in missing.rationale
    forbidden = check.score(sample("Total: 42. As an AI, I think..."))
    assert forbidden.value == 0.0 and "As an AI" in forbidden.rationale
    assert forbidden.measurements == {"required_matched": 1, "forbidden_matched": 1}


def test_regex_partial_credit_for_required(build, sample):
    check = build(Regex, require=["alpha", "beta", "gamma", "delta"])
    score = check.score(sample("alpha and gamma"))
    assert score.value == pytest.approx(0.5) and score.passed is False


def test_regex_flags(build, sample):
    assert build(Regex, require=["^end$"], flags=["m", "i"]).score(sample("x\nEND\ny")).passed
    assert build(Regex, require=["^end$"]).score(sample("x\nEND\ny")).passed is False


def test_regex_max_chars_bounds_the_search(build, sample):
    check = build(Regex, forbid=["secret"], max_chars=10)
    assert check.score(sample("0123456789 secret")).passed


def test_invalid_regex_fails_at_load_naming_it(build):
    with pytest.raises(ValueError, match=r"forbid\[1\]: invalid regular expression '\(unclosed'"):
        build(Regex, forbid=["ok", "(unclosed"])


def test_catastrophic_forbid_pattern_times_out_as_a_regex_timeout(build, sample):
    check = build(Regex, forbid=["fine", CATASTROPHIC], match_timeout_s=0.02)
    with pytest.raises(ComponentError, match=r"forbid\[1\]: pattern '\(a\|a\)\+\$'") as err:
        check.score(sample(ADVERSARIAL))
    assert err.value.kind == "regex_timeout"
    assert "41-character response" in str(err.value)
    # The same pattern on ordinary text finishes and scores normally.
    assert check.score(sample("all good")).passed


def test_catastrophic_require_pattern_times_out_too(build, sample):
    check = build(Regex, require=[CATASTROPHIC], match_timeout_s=0.02)
    with pytest.raises(ComponentError, match=r"require\[0\]") as err:
        check.score(sample(ADVERSARIAL))
    assert err.value.kind == "regex_timeout"


class _StarvedPattern:
    """A real compiled pattern whose first ``starved`` searches run out of wall-clock time
    before doing any work, as a thread waiting for a CPU on a loaded machine does."""

    def __init__(self, pattern: str, starved: int) -> None:
        self._compiled = compile_pack_pattern(pattern, 0, "test")
        self.pattern = pattern
        self.starved = starved
        self.calls = 0

    def search(self, text, **kwargs):
        self.calls += 1
        if self.calls <= self.starved:
            raise TimeoutError("regex timed out")
        return self._compiled.search(text, **kwargs)


def test_a_wall_clock_timeout_with_cpu_budget_left_is_tried_again():
    pattern = _StarvedPattern(r"\bguarantee\b", starved=3)
    match = pack_search(pattern, "We guarantee it.", timeout_s=0.05, where="forbid[0]")
    assert match is not None and match.group(0) == "guarantee"
    assert pattern.calls == 4


def test_a_thread_starved_every_time_still_ends_as_a_regex_timeout():
    pattern = _StarvedPattern("fine", starved=10_000)
    with pytest.raises(ComponentError) as err:
        pack_search(pattern, "fine", timeout_s=0.05, where="forbid[0]")
    assert err.value.kind == "regex_timeout" and "forbid[0]" in str(err.value)
    assert pattern.calls == 20  # bounded attempts, not an endless wait


def test_match_timeout_must_be_positive_and_bounded():
    for bad in (0, -1, 11):
        with pytest.raises(ValidationError, match="match_timeout_s"):
            Regex.Config.model_validate({"type": "regex", "id": "r", "forbid": ["x"],
                                         "match_timeout_s": bad})


def test_patterns_keep_re_semantics(build, sample):
    # regex.VERSION0: possessive/atomic syntax and inline flags work as in ``re``.
    check = build(Regex, require=[r"(?i)total:\s*\d++", r"(?>ab|a)c"], forbid=[r"\bAI\b"])
    assert check.score(sample("TOTAL: 7, abc")).passed
    assert check.score(sample("Total: 7 ac AI")).passed is False


def test_regex_timeout_in_a_batch_applies_on_error_and_spares_other_samples(tmp_path):
    pack = tmp_path / "redos.toml"
    pack.write_text(f"""
[pack]
name = "redos"
version = "1"

[[components]]
id = "no_runs"
type = "regex"
forbid = ['{CATASTROPHIC}']
match_timeout_s = 0.02
on_error = "neutral"
neutral_value = 0.25

[[components]]
id = "len"
type = "length"
unit = "chars"
max = 1000
""", encoding="utf-8")
    host = make_plugin_host(allow=["checks"])
    scorer = Scorer(load_pack(str(pack), host))
    try:
        batch = scorer.score([
            {"id": "evil", "messages": [{"role": "user", "content": "q"},
                                        {"role": "assistant", "content": ADVERSARIAL}]},
            {"id": "ok", "messages": [{"role": "user", "content": "q"},
                                      {"role": "assistant", "content": "fine"}]},
        ])
    finally:
        scorer.close()
    evil, ok = batch.results
    outcome = evil.components["no_runs"]
    assert outcome.error_kind == "regex_timeout" and outcome.policy == "neutral"
    assert outcome.value == pytest.approx(0.25)
    assert evil.components["len"].passed is True
    assert ok.components["no_runs"].error is None and ok.components["no_runs"].passed


def test_invalid_regex_is_a_pack_error_at_load(tmp_path):
    pack = tmp_path / "bad.toml"
    pack.write_text("""
[pack]
name = "bad"
version = "1"

[[components]]
id = "r"
type = "regex"
require = ['(unclosed']
""", encoding="utf-8")
    with pytest.raises(PackError, match=r"require\[0\]: invalid regular expression"):
        load_pack(str(pack), make_plugin_host(allow=["checks"]))


def test_regex_needs_a_pattern():
    with pytest.raises(ValidationError, match="at least one pattern"):
        Regex.Config.model_validate({"type": "regex", "id": "r"})


# -- keywords -----------------------------------------------------------------------------
def test_keywords_required_fraction(build, sample):
    check = build(Keywords, required=["invoice", "total", "vendor"], min_required_fraction=0.6)
    score = check.score(sample("The INVOICE total is 5."))
    assert score.passed and score.value == pytest.approx(2 / 3)
    assert "vendor" in score.rationale
    assert check.score(sample("Only the invoice.")).passed is False


def test_keywords_whole_word(build, sample):
    check = build(Keywords, forbidden=["ass"])
    assert check.score(sample("a classic assessment")).passed
    assert check.score(sample("what an ass!")).passed is False
    substring = build(Keywords, forbidden=["ass"], whole_word=False)
    assert substring.score(sample("a classic assessment")).passed is False


def test_keywords_case_sensitive(build, sample):
    check = build(Keywords, required=["NASA"], case_sensitive=True)
    assert check.score(sample("NASA launched")).passed
    assert check.score(sample("nasa launched")).passed is False


def test_forbidden_keyword_evasions_still_match(build, sample):
    check = build(Keywords, forbidden=["free money"])
    assert check.score(sample("Get ＦＲＥＥ money now")).passed is False  # noqa: RUF001
    assert check.score(sample("Get fr\u200bee mo\u00adney now")).passed is False
    assert check.score(sample("Get free\n  money now")).passed is False
    assert check.score(sample("Get freemoney now")).passed is True


def test_keywords_with_punctuation_edges(build, sample):
    check = build(Keywords, required=["C++", "#hashtag"])
    assert check.score(sample("I like C++ and #hashtag.")).passed
    assert check.score(sample("I like C and hashtag.")).passed is False


def test_keywords_validation():
    with pytest.raises(ValidationError, match="at least one keyword"):
        Keywords.Config.model_validate({"type": "keywords", "id": "k"})
    with pytest.raises(ValidationError, match="blank"):
        Keywords.Config.model_validate({"type": "keywords", "id": "k", "required": [" "]})


# -- keywords in every script (issue 9, cases A3, A4) -------------------------------------
def test_forbidden_chinese_keyword_is_found(build, sample):  # A3
    score = build(Keywords, forbidden=["承诺"]).score(sample("我们承诺七天内全额退款。"))
    assert score.passed is False and score.value == 0.0
    assert score.measurements["forbidden_found"] == 1


def test_required_chinese_keyword_whole_word(build, sample):  # A4
    check = build(Keywords, required=["退款"], whole_word=True)
    score = check.score(sample("您的退款已经处理完毕。"))
    assert score.passed and score.value == 1.0
    assert check.score(sample("您的订单已经处理完毕。")).passed is False


@pytest.mark.parametrize(("keyword", "text", "present"), [
    ("返金", "ご注文の返金手続きが完了しました。", True),  # Japanese
    ("キャンセル", "注文をキャンセルしました", True),  # katakana run inside kana text
    ("คืนเงิน", "เราจะคืนเงินให้ภายในเจ็ดวัน", True),  # Thai, no spaces
    ("សងប្រាក់", "យើងនឹងសងប្រាក់ជូនអ្នក", True),  # Khmer
    ("iphone", "我用iPhone拍照", True),  # Latin keyword glued to Chinese
    ("iphone", "我用iPhones拍照", False),  # ... still a whole Latin word
    ("退款 政策", "请阅读退款\n政策", True),  # a phrase across a line break
    ("환불", "환불이 완료되었습니다", True),  # Korean particle after the word
    ("환불", "전환불가 상품", False),  # not inside another Korean word
    ("شكرا", "شُكْرًا لتواصلك معنا", True),  # Arabic harakat in the text
    ("مرحبا", "مـرحـبـا بكم", True),  # Arabic tatweel (kashida)
    ("\u05e9\u05dc\u05d5\u05dd", "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd \u05dc\u05db\u05dd",
     True),  # Hebrew niqqud in the text
    ("\u05e9\u05dc\u05d5\u05dd", "\u200f\u05e9\u05dc\u200f\u05d5\u05dd", True),  # bidi marks
    ("café", "cafe\u0301 au lait", True),  # decomposed accent
    ("cafe", "café au lait", False),  # an accent is a different letter
    # after landing: keywords in Thai, Japanese kana+kanji, Korean, Arabic, German
    ("รับประกัน", "เรารับประกันการคืนเงินเต็มจำนวน", True),
    ("お約束", "全額返金をお約束します。", True),
    ("ヘンキン", "ヘンキンします", True),
    ("보장", "저희는 전액 환불을 보장해 드립니다.", True),
    ("نضمن", "نحن نَضْمَنُ استرداد المبلغ كاملاً", True),  # harakat in the text
    ("الضمان", "وبالضمان الكامل", True),  # "and with the guarantee": wa- bi- al-
    ("الضمان", "للضمان شروط", True),  # li- + al- written "لل"
    ("ضمان", "نقدم ضماننا الكامل", True),  # "our guarantee": a pronoun suffix
    ("الضمان", "ضمان شروط", False),  # a definite keyword needs its article
    ("ضمان", "فالضمانات", False),  # a plural is another word
    ("مال", "اسمه كمال", False),  # too short to strip particles: "Kamal" is a name
    ("\u05d4\u05d1\u05d8\u05d7\u05d4",
     "\u05d5\u05d4\u05d4\u05d1\u05d8\u05d7\u05d4 \u05e9\u05dc\u05e0\u05d5",
     True),  # Hebrew ve- + ha- before "promise"
    ("garantie", "Wir geben eine Geld-zurück-Garantie.", True),  # the compound's last part
    ("garantie", "Wir übernehmen die Garantieleistung.", False),  # inside a compound
    ("strasse", "Straße gesperrt", True),  # case folding turns ß into ss
])
def test_keywords_in_every_script(build, sample, keyword, text, present):
    score = build(Keywords, forbidden=[keyword]).score(sample(text))
    assert (score.measurements["forbidden_found"] == 1) is present, (keyword, text)


def test_keyword_empty_once_folded_is_refused(build):
    with pytest.raises(ValueError, match="empty once folded"):
        build(Keywords, forbidden=["\u200b"], whole_word=False)


# -- attacker pass 2 (issue 9): forbidden words spelt with look-alike letters -------------
# Written with escapes: U+0430 and U+0435 are the Cyrillic a and ie.
@pytest.mark.parametrize(("text", "whole_word"), [
    ("Pay with p\u0430ypal now", True),
    ("Pay with P\u0430yP\u0430l now", True),
    ("xxp\u0430ypalxx", False),
])
def test_forbidden_keyword_spelt_with_cyrillic_look_alikes_is_found(build, sample, text,
                                                                    whole_word):
    score = build(Keywords, forbidden=["paypal"], whole_word=whole_word).score(sample(text))
    assert score.passed is False and score.measurements["forbidden_found"] == 1


def test_forbidden_phrase_with_a_look_alike_is_found(build, sample):
    score = build(Keywords, forbidden=["free money"]).score(sample("get fr\u0435\u0435 money"))
    assert score.passed is False


@pytest.mark.parametrize(("keyword", "text"), [
    ("cop", "\u0423\u0431\u0440\u0430\u043b\u0438 \u0441\u043e\u0440."),  # Russian "sor" (rubbish)
    ("top", "\u03a4\u03bf \u03c4\u03bf\u03c0 \u03b5\u03af\u03bd\u03b1\u03b9."),  # Greek word
])
def test_a_word_wholly_in_cyrillic_or_greek_is_not_read_as_latin(build, sample, keyword, text):
    assert build(Keywords, forbidden=[keyword]).score(sample(text)).passed is True


def test_a_required_keyword_spelt_with_a_look_alike_is_not_counted(build, sample):
    score = build(Keywords, required=["paypal"]).score(sample("Pay with p\u0430ypal"))
    assert score.passed is False and score.measurements["required_found"] == 0
