"""repetition: n-grams, duplicate lines, duplicate JSON items."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from rewardsmith.plugins.checks._segment import word_tokens
from rewardsmith.plugins.checks.repetition import Repetition, ngram_repeat_rate

PROSE = ("The contract sets a payment term of thirty days. Late payments accrue interest at "
         "two percent per month. Either party may terminate with ninety days notice.")


def test_ngram_rate():
    assert ngram_repeat_rate(["a", "b", "c", "a", "b", "c"], 3) == pytest.approx(1 - 3 / 4)
    assert ngram_repeat_rate(["a", "b"], 3) == 0.0


def test_ngram_passes_normal_prose_and_catches_loops(build, sample):
    check = build(Repetition, max_ngram_repeat=0.2)
    ok = check.score(sample(PROSE))
    assert ok.passed and ok.value == 1.0 and ok.measurements["ngram_repeat"] == 0.0
    looped = check.score(sample(PROSE + " I am sure." * 40))
    assert looped.passed is False and looped.value < 0.5


def test_duplicate_lines(build, sample):
    check = build(Repetition, max_duplicate_lines=0.0)
    text = "- Clause 4 is vague.\n- Clause 7 lacks a cap.\n- clause 4 is  vague.\n}\n}"
    score = check.score(sample(text))
    assert score.passed is False
    # the short '}' lines are not compared
    assert score.measurements["duplicate_lines"] == pytest.approx(1 / 3, abs=1e-3)
    assert check.score(sample("- Clause 4 is vague.\n- Clause 7 lacks a cap.")).passed


def test_duplicate_json_items_catch_repeated_comments(build, sample):
    check = build(Repetition, items_path="comments")
    comments = [{"clause": "4.1", "remark": "Vague term"},
                {"clause": "7.2", "remark": "No liability cap"},
                {"remark": "vague  TERM", "clause": "4.1"}]
    score = check.score(sample(json.dumps({"comments": comments})))
    assert score.passed is False
    assert score.measurements["duplicate_items"] == pytest.approx(1 / 3, abs=1e-3)
    assert score.value == pytest.approx(2 / 3)
    assert check.score(sample(json.dumps({"comments": comments[:2]}))).value == 1.0


def test_element_path_form_is_equivalent(build, sample):
    text = json.dumps({"rows": [{"a": [1]}, {"a": [1]}]})
    assert build(Repetition, items_path="rows[]").score(sample(text)).measurements[
        "duplicate_items"] == 0.5
    assert build(Repetition, items_path="rows").score(sample(text)).measurements[
        "duplicate_items"] == 0.5


def test_json_string_ngrams_ignore_repeated_keys(build, sample):
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    rows = [{"description": name, "unit": "pcs", "category": "hardware"} for name in names]
    text = json.dumps({"line_items": rows})
    by_text = build(Repetition, max_ngram_repeat=0.2).score(sample(text))
    by_strings = build(Repetition, max_ngram_repeat=0.2, ngram_source="json_strings")
    assert by_text.passed is False  # the keys repeat in every row
    assert by_strings.score(sample(text)).passed


def test_value_is_worst_measure(build, sample):
    check = build(Repetition, max_ngram_repeat=0.9, max_duplicate_lines=0.0)
    text = "same line here\nsame line here\nsame line here\nsame line here"
    score = check.score(sample(text))
    assert score.value == pytest.approx(0.25)


def test_ngrams_are_on_by_default_and_can_be_turned_off(build, sample):
    looped = sample(PROSE + " I am sure." * 40)
    assert build(Repetition).score(looped).passed is False
    items_only = build(Repetition, max_ngram_repeat=1, items_path="rows")
    score = items_only.score(sample('{"rows": [1, 2], "t": "' + "la " * 50 + '"}'))
    assert score.passed and "ngram_repeat" not in score.measurements
    with pytest.raises(ValidationError, match="every measure is off"):
        Repetition.Config.model_validate({"type": "repetition", "id": "r",
                                          "max_ngram_repeat": 1})


# -- scripts written without spaces, and others (issue 9, cases A1, A2) -------------------
ZH = ("感谢您联系我们的客服中心。关于您在十一月二日提交的退货申请，我们已经完成审核，"  # noqa: RUF001
      "款项将在三到五个工作日内退回到您原来的支付账户。如果您使用的是信用卡，"  # noqa: RUF001
      "到账时间可能会因发卡银行的处理流程而略有不同。另外，您订单中的蓝色保温杯目前缺货，"  # noqa: RUF001
      "我们为您预留了同款灰色，如需更换请直接回复本邮件。祝您生活愉快！")  # noqa: RUF001
JA = ("お問い合わせいただきありがとうございます。ご注文の商品は本日午後に発送いたしました。"
      "配送状況は追跡番号からご確認いただけます。万が一、商品に不具合がございましたら、"
      "到着後七日以内にカスタマーサポートまでご連絡ください。交換または返金にて対応いたします。"
      "今後ともよろしくお願い申し上げます。")
TH = ("ขอบคุณที่ติดต่อเรา คำสั่งซื้อของคุณได้รับการจัดส่งแล้วเมื่อเช้านี้ "
      "คุณสามารถตรวจสอบสถานะการจัดส่งได้จากหมายเลขพัสดุที่ส่งไปทางอีเมล "
      "หากสินค้ามีปัญหา โปรดแจ้งเราภายในเจ็ดวันหลังได้รับสินค้า เราจะเปลี่ยนสินค้าหรือคืนเงินให้ทันที")
KM = ("សូមអរគុណសម្រាប់ការទាក់ទងមកយើងខ្ញុំ។ ការបញ្ជាទិញរបស់អ្នកត្រូវបានផ្ញើចេញនៅព្រឹកនេះ។ "
      "ប្រសិនបើទំនិញមានបញ្ហា សូមជូនដំណឹងមកយើងខ្ញុំក្នុងរយៈពេលប្រាំពីរថ្ងៃ។")
KO = ("문의해 주셔서 감사합니다. 주문하신 상품은 오늘 오후에 발송되었습니다. "
      "배송 조회는 문자로 보내드린 운송장 번호로 확인하실 수 있습니다. "
      "상품에 문제가 있으면 수령 후 7일 이내에 고객센터로 연락해 주세요.")
AR = ("شكرا لتواصلك معنا. تم شحن طلبك صباح اليوم، ويمكنك متابعة حالة الشحنة عبر رقم التتبع "
      "المرسل إلى بريدك الإلكتروني. إذا واجهت أي مشكلة في المنتج، يرجى إبلاغنا خلال سبعة أيام.")
# Hebrew written with escapes: some letters (vav, samekh) are Latin look-alikes to ruff.
HE = ("\u05ea\u05d5\u05d3\u05d4 \u05e9\u05e4\u05e0\u05d9\u05ea \u05d0\u05dc\u05d9\u05e0\u05d5. "
      "\u05d4\u05d4\u05d6\u05de\u05e0\u05d4 \u05e9\u05dc\u05da "
      "\u05e0\u05e9\u05dc\u05d7\u05d4 \u05d4\u05d1\u05d5\u05e7\u05e8 "
      "\u05d5\u05e0\u05d9\u05ea\u05df \u05dc\u05e2\u05e7\u05d5\u05d1 "
      "\u05d0\u05d7\u05e8\u05d9\u05d4 \u05d1\u05d0\u05de\u05e6\u05e2\u05d5\u05ea "
      "\u05de\u05e1\u05e4\u05e8 \u05d4\u05de\u05e9\u05dc\u05d5\u05d7.")
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"


@pytest.mark.parametrize(("name", "text"), [
    ("A1 Chinese", "请您稍等，我们正在核实订单信息。" * 14),  # noqa: RUF001
    ("A1 in English", "Please wait while we verify your order information. " * 14),
    ("A2 Japanese", "お問い合わせありがとうございます。" * 10),
    ("Thai", "ขอบคุณที่ติดต่อเรา " * 10),
    ("Thai without spaces", "ขอบคุณที่ติดต่อเรา" * 10),
    ("Khmer", "សូមអរគុណសម្រាប់ការទាក់ទងមកយើងខ្ញុំ។" * 8),
    ("Korean", "주문하신 상품은 오늘 발송되었습니다. " * 8),
    ("Arabic", "شكرا لتواصلك معنا. " * 10),
    ("Hebrew", HE * 8),
    ("emoji family", f"{FAMILY} " * 30),
    ("Lao", "ຂອບໃຈທີ່ຕິດຕໍ່ພວກເຮົາ" * 8),
    ("Burmese", "ဆက်သွယ်ပေးတဲ့အတွက်ကျေးဇူးတင်ပါတယ်" * 8),
    ("mixed Chinese and English", "Thanks 谢谢您的耐心 " * 20),
    # after landing: loops with emoji, spaces, and scripts mixed
    ("Japanese with spaces", "ご注文 ありがとう ございます 。 " * 10),
    ("Chinese and emoji", "感谢您的耐心等待🙏😊 " * 15),
    ("Chinese with English", "OK，我们马上处理 refund request，请稍等。" * 12),  # noqa: RUF001
    ("Korean with Chinese", "주문 확인 중입니다 订单确认中 " * 12),
    ("Hindi", "धन्यवाद आपका ऑर्डर प्रोसेस हो रहा है। " * 12),
    ("Arabic with and without harakat",
     "شُكْرًا لَكُم، نحن نراجع طلبك. شكرا لكم، نحن نراجع طلبك. " * 7),
])
def test_loops_fail_in_every_script(build, sample, name, text):
    score = build(Repetition).score(sample(text))
    assert score.passed is False, name
    assert score.value < 0.5 and score.measurements["ngram_repeat"] > 0.6


@pytest.mark.parametrize("text", [
    "".join(f"第{i}步：请您稍等，我们正在核实订单信息。" for i in range(14)),  # noqa: RUF001
    "".join(f"ข้อ {i} กรุณารอสักครู่ เรากำลังตรวจสอบ " for i in range(12)),
])
def test_loops_with_a_counter_still_fail(build, sample, text):
    # A step number changes one n-gram in each loop: still half or more repeat.
    score = build(Repetition).score(sample(text))
    assert score.passed is False and score.measurements["ngram_repeat"] > 0.5


@pytest.mark.parametrize(("name", "text"), [
    ("Chinese", ZH), ("Japanese", JA), ("Thai", TH), ("Khmer", KM), ("Korean", KO),
    ("Arabic", AR), ("Hebrew", HE), ("mixed", ZH + " " + PROSE + " " + JA),
])
def test_ordinary_prose_passes_in_every_script(build, sample, name, text):
    score = build(Repetition).score(sample(text))
    assert score.passed, (name, score.rationale)
    assert score.measurements["ngram_repeat"] < 0.05


def test_loop_after_an_introduction_fails(build, sample):
    score = build(Repetition).score(sample(ZH + "请稍等。" * 40))
    assert score.passed is False and score.measurements["ngram_repeat"] > 0.4


TH_LONG = ("เรียนคุณลูกค้า ทางบริษัทขออภัยในความไม่สะดวกที่เกิดขึ้นกับการสั่งซื้อครั้งนี้ "
       "เจ้าหน้าที่ของเราได้ตรวจสอบข้อมูลการชำระเงินของคุณเรียบร้อยแล้ว และพบว่ารายการดังกล่าวถูกตัดเงินซ้ำสองครั้ง "
       "เราได้ดำเนินการคืนเงินส่วนที่เกินให้แล้ว ซึ่งจะเข้าบัญชีของคุณภายในสามถึงห้าวันทำการ "
       "หากคุณมีคำถามเพิ่มเติมเกี่ยวกับใบเสร็จหรือการรับประกันสินค้า สามารถติดต่อฝ่ายบริการลูกค้าได้ตลอดยี่สิบสี่ชั่วโมง "
       "นอกจากนี้ เรายังมอบคูปองส่วนลดสิบเปอร์เซ็นต์สำหรับการสั่งซื้อครั้งถัดไปเพื่อเป็นการขอบคุณที่คุณไว้วางใจเรา "
       "คูปองนี้ใช้ได้กับสินค้าทุกประเภทในร้านค้าออนไลน์ของเรา ยกเว้นสินค้าลดราคาพิเศษ และมีอายุการใช้งานหกสิบวัน")


def test_long_thai_prose_is_not_read_as_a_loop(build, sample):
    # Character trigrams of an alphabetic script recur in any long text (19% of them in
    # these 610 graphemes of Thai); n-grams spanning about three words (12 graphemes) do not.
    text = TH + " " + TH_LONG
    assert ngram_repeat_rate(word_tokens(text), 3) > 0.15
    score = build(Repetition).score(sample(text))
    assert score.passed and score.measurements["ngram_repeat"] < 0.02


def test_cjk_lines_are_long_enough_to_compare(build, sample):
    # Four Chinese characters take eight columns: compared like an eight-letter line.
    check = build(Repetition, max_duplicate_lines=0.0, max_ngram_repeat=1)
    score = check.score(sample("请稍等。\n正在核实\n请稍等。"))
    assert score.passed is False
    assert score.measurements["duplicate_lines"] == pytest.approx(1 / 3, abs=1e-3)
    assert check.score(sample("ok.\nno.\nok.")).passed  # short ASCII lines are skipped


# -- ngram_scope = "sentence": a template filled per item is not a loop (issue 9 round 3) ---
TEMPLATED = ("I'm sorry all three orders are late. Here is where each one stands:\n"
             "- Order NW-482913: the parcel is at the carrier's regional depot; I've opened a "
             "trace.\n"
             "- Order NW-482914: the parcel is at the carrier's regional depot; I've opened a "
             "trace.\n"
             "- Order NW-482915: the parcel is at the carrier's regional depot; I've opened a "
             "trace.\n"
             "I'll e-mail you within 24 hours with what the carrier finds.")
SIX_ORDERS = "Your orders:\n" + "\n".join(
    f"- Order NW-10{i}: shipped on 2 May from the Leeds warehouse, arriving Thursday." for i in
    range(6))


@pytest.mark.parametrize("text", [TEMPLATED, SIX_ORDERS])
def test_sentence_scope_lets_a_template_per_item_through(build, sample, text):
    whole = build(Repetition, max_ngram_repeat=0.25).score(sample(text))
    assert whole.passed is False  # the whole-text rate reads the template as repetition
    scoped = build(Repetition, max_ngram_repeat=0.25, ngram_scope="sentence").score(
        sample(text))
    assert scoped.passed and scoped.measurements["ngram_repeat"] == 0.0


def test_sentence_scope_counts_every_word_of_a_repeated_sentence(build, sample):
    text = "We are very sorry for the delay with your order. " * 12
    score = build(Repetition, ngram_scope="sentence").score(sample(text))
    assert score.measurements["ngram_repeat"] == round(110 / 120, 4)  # measurements: 4 places
    assert score.passed is False


@pytest.mark.parametrize(("name", "text"), [
    ("A1 Chinese", "请您稍等，我们正在核实订单信息。" * 14),  # noqa: RUF001
    ("A1 in English", "Please wait while we verify your order information. " * 14),
    ("A2 Japanese", "お問い合わせありがとうございます。" * 10),
    ("Thai without spaces", "ขอบคุณที่ติดต่อเรา" * 10),
    ("Korean", "주문하신 상품은 오늘 발송되었습니다. " * 8),
    ("Arabic", "شكرا لتواصلك معنا. " * 10),
    ("short sentences", "Sorry! " * 30),
    ("loop after an introduction", ZH + "请稍等。" * 40),
    ("no punctuation", "and so on " * 30),
])
def test_sentence_scope_still_fails_loops(build, sample, name, text):
    score = build(Repetition, ngram_scope="sentence").score(sample(text))
    assert score.passed is False, (name, score.measurements)


@pytest.mark.parametrize(("name", "text"), [
    ("Chinese", ZH), ("Japanese", JA), ("Thai", TH), ("Korean", KO), ("Arabic", AR),
    ("English", PROSE),
])
def test_sentence_scope_passes_ordinary_prose(build, sample, name, text):
    score = build(Repetition, ngram_scope="sentence").score(sample(text))
    assert score.passed and score.measurements["ngram_repeat"] < 0.05, name
