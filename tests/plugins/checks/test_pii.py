# Multilingual test texts: their non-ASCII punctuation and letters are the point.
# ruff: noqa: RUF001
"""pii: detectors, validators, allow-lists and prompt values."""

from __future__ import annotations

import pytest

from rewardsmith.plugins.checks.pii import ALL_KINDS, Pii, find_pii, iban_valid, luhn_valid


def kinds(text, detect=("email", "phone", "credit_card", "iban")):
    return sorted(k for k, _, _ in find_pii(text, frozenset(detect)))


def findings(text, detect=ALL_KINDS, **options):
    return [(k, v) for k, _, v in find_pii(text, frozenset(detect), **options)]


def test_luhn_and_iban_validators():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82WEST12345698765433")


@pytest.mark.parametrize(("text", "expected"), [
    ("mail me at jane.doe+rft@example.co.uk today", ["email"]),
    ("call +44 20 7946 0958 now", ["phone"]),
    ("call (212) 555-0147 now", ["phone"]),
    ("card 4111 1111 1111 1111 exp 12/27", ["credit_card"]),
    ("card 4111-1111-1111-1111", ["credit_card"]),
    ("pay to GB82 WEST 1234 5698 7654 32", ["iban"]),
])
def test_detects(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize("text", [
    "Invoice date 2024-03-14, due 14/04/2024.",
    "Total 1,263.60 GBP; subtotal 1053.00",
    "Order 4111111111111112 shipped",  # fails Luhn
    "Tracking 1234567890123456",  # Luhn-valid? no issuer prefix either way
    "Version 3.11.4 released; pi is 3.14159265",
    "See RFC 7231 section 6.5.1 and ISO 8601.",
    "x@y is not an address, nor is foo@bar",
    "Reference GB00 XXXX 0000 0000 0000 00",  # IBAN-shaped, fails mod 97
])
def test_no_false_positives_on_ordinary_text(text):
    assert kinds(text) == []


def test_component_fails_on_leak_and_masks_it(build, sample):
    score = build(Pii).score(sample("Contact john.smith@gmail.com or 4111 1111 1111 1111"))
    assert score.passed is False and score.value == 0.0
    assert score.measurements["email"] == 1 and score.measurements["credit_card"] == 1
    assert "john.smith" not in score.rationale and "j***@gmail.com" in score.rationale
    assert "***1111" in score.rationale


def test_values_from_the_prompt_are_not_leaks(build, sample):
    user = "Invoice from billing@acme.example, phone +44 20 7946 0958."
    response = '{"email": "billing@acme.example", "phone": "+44 (20) 7946-0958"}'
    assert build(Pii).score(sample(response, user=user)).passed
    strict = build(Pii, allow_prompt_values=False)
    assert strict.score(sample(response, user=user)).passed is False


def test_allowed_domains_and_values(build, sample):
    check = build(Pii, allowed_domains=["example.com"], allow_values=["+1 555 010 4477"])
    assert check.score(sample("write to help@support.example.com")).passed
    assert check.score(sample("write to help@notexample.com")).passed is False
    assert check.score(sample("call 1-555-010-4477")).passed


def test_detect_subset(build, sample):
    check = build(Pii, detect=["credit_card"])
    assert check.score(sample("mail a@b.io, call +44 20 7946 0958")).passed


# -- real-world-1.md B1, B2, B7 and other instances of the same kinds ---------------------

def test_b1_timestamp_ipv4_and_page_range_are_not_pii():
    text = ("Your parcel left the depot on 2025-09-18 14:05:33 and reached hub 10.20.30.40; "
            "see pages 118-131 of the guide.")
    assert findings(text) == []


def test_b2_a_french_number_in_international_format_is_a_phone():
    text = "Ring us on +33 1 70 36 42 18 if the courier misses you."
    assert findings(text) == [("phone", "+33170364218")]


def test_b7_appointment_date_and_time_is_not_a_phone(build, sample):
    reply = ("Thank you for your patience! I've booked your appointment on 2025-11-02 at 09:45 "
             "at our Leeds branch; please bring the receipt.")
    assert findings(reply) == []
    assert build(Pii, detect=list(ALL_KINDS)).score(sample(reply)).passed


@pytest.mark.parametrize("text", [
    "2025-09-18 14:05:33,412 INFO worker-3 job=8812 finished in 1.84s",
    "2025-09-18T14:05:33.412Z level=info",
    "Meet on 18/09/2025 14:05 or 2025/09/18 at 14:05.",
    "E1102 09:45:12.345678   4821 reflector.go:138] failed to list pods",
    "Maintenance window 2025-11-02 09:45 - 2025-11-02 10:15 (30 min)",
    "Patients 118-131 and pages 1203-1219 of the proceedings; ranges 400-700 nm.",
    "gateway upstream 10.20.30.40:8080, router 192.168.1.1, doc range 203.0.113.7",
    "Release v3.14.1, build 20250918, semver 10.20.30 and 1.0.0-rc.1",
    "Total 1,263.60 GBP; 3.850,00 EUR; 12,450 points; 1726668333000 ms",
    "Order NW-482913-R, invoice INV-2025-0412, RMA 77-4410-2, part 6021-118-40",
    "ISBN 978-3-16-148410-0, DOI 10.1038/s41586-023-06139-9, EAN 4006381333931",
    "Tracking 1Z 999 AA1 01 2345 6784 shows the parcel is out for delivery.",
    "UUID 3f2504e0-4f89-11d3-9a0c-0305e82c3301, time 12:30:45",
])
def test_dates_times_ranges_versions_ids_and_amounts_are_not_pii(text):
    assert findings(text) == [], text


@pytest.mark.parametrize("text", [
    # after landing: more numbers that are not phones
    "Delivery is planned for 2025-W14-3, i.e. week 2025-W14.",
    "Lap times: 01:02:03.456 and 00:59:58.120; uptime 1234:56:07.",
    "ISBN-10 0-306-40615-2 and 978 0 306 40615 7.",
    "The office is at 48.8566, 2.3522 (Paris) and 40.7128, -74.0060.",
    "GPS: 51.5074 N, 0.1278 W; 37.7749,-122.4194",
    "Account no. 4155550123 has been credited; sort code 20-00-00.",
    "The total is 1,234,567.89 USD; also 2 345 678,90 € and 12.345.678,00 €.",
    "USPS tracking: 9400 1000 0000 0000 0000 00",
    "Your tracking number is 4155550123 (DHL).",
    "Your parcel number is 0161 496 0734; it left the hub this morning.",
    "The booking reference was 020 7946 0958.",
    "Hours: 0800-1700, Mon-Fri; call slots 1300 1400 1500 1600 1700.",
    "Starts 2025-11-02T09:45:00+01:00 and ends 2025-11-02T10:15:00-05:00.",
    "Flight BA 0117 departs at 09:45 from gate 22.",
    "Population 67 390 000; GDP 2 937 473 million; area 551 695 km².",
    "Serial number is 7946 0958 1234 and warranty until 2027.",
    "Timestamps 1700000000 1700003600 1700007200 in seconds.",
    "MAC 00:1A:2B:3C:4D:5E and 00-1A-2B-3C-4D-5E; IPv6 2001:db8::1 and fe80::1ff:fe23:4567:890a",
])
def test_more_numbers_that_are_not_phones(text):
    assert findings(text) == [], text


def test_a_dotted_version_after_upgrade_or_latest_is_not_an_ip():
    assert findings("Upgrade to 1.2.3.4 or update to 10.0.19045.3803.", ("ip_address",)) == []
    assert findings("The latest is 5.2.120.4.", ("ip_address",)) == []
    assert findings("Traffic from 1.2.3.4 was blocked.", ("ip_address",)) == [
        ("ip_address", "1.2.3.4")]


def test_a_phone_after_my_number_is_is_still_a_phone():
    # "number is" after a person, not an identifier's label, keeps the phone.
    assert findings("My number is 020 7946 0018.", ("phone",)) == [("phone", "+442079460018")]


@pytest.mark.parametrize(("text", "e164"), [
    ("Call me on 020 7946 0018 tonight.", "+442079460018"),
    ("My mobile is 07911 123456.", "+447911123456"),
    ("Phone (02) 9374 4000 for the clinic.", "+61293744000"),
    ("Appelez le 01 70 36 42 18.", "+33170364218"),
    ("연락처: +82 10-1234-5678", "+821012345678"),
    ("Call +44 (0)20 7946 0018.", "+442079460018"),
    ("Call 415.555.2671 now.", "+14155552671"),
    ("tél. : 01 70 36 42 18", "+33170364218"),
    ("Ring +64 21 123 4567", "+64211234567"),
    ("Llama al +52 55 1234 5678", "+525512345678"),
    ("電話：＋８１ ３－１２３４－５６７８", "+81312345678"),  # full-width digits
])
def test_more_national_formats_are_phones(text, e164):
    assert findings(text, ("phone",)) == [("phone", e164)]


@pytest.mark.parametrize(("text", "e164"), [
    ("Berlin: +49 30 901820", "+4930901820"),
    ("Madrid: +34 912 345 678", "+34912345678"),
    ("Tokyo: +81 3-1234-5678", "+81312345678"),
    ("手机号是+86 138 0013 8000，请直接联系", "+8613800138000"),
    ("WhatsApp +91 98765 43210", "+919876543210"),
    ("São Paulo +55 11 91234-5678", "+5511912345678"),
    ("서울 +82 2-312-3456 입니다", "+8223123456"),
    ("New York (212) 555-0147", "+12125550147"),
    ("London 020 7946 0958", "+442079460958"),
])
def test_phone_numbers_of_several_countries(text, e164):
    assert findings(text, ("phone",)) == [("phone", e164)]


def test_national_numbers_need_their_region():
    text = "Son portable : 06 12 34 56 78."
    assert findings(text, ("phone",)) == [("phone", "+33612345678")]
    assert findings(text, ("phone",), phone_regions=["US", "GB"]) == []


def test_phone_regions_are_validated(build):
    with pytest.raises(ValueError, match="phone_regions: unknown region"):
        build(Pii, phone_regions=["XX"])
    assert build(Pii, phone_regions=["fr"]).config.phone_regions == ["FR"]


def test_allowed_phone_matches_every_way_of_writing_it(build, sample):
    check = build(Pii, allow_values=["+1 800 555 0199"])
    for text in ("call 1-800-555-0199", "call (800) 555-0199", "call +1.800.555.0199"):
        assert check.score(sample(text)).passed, text
    assert check.score(sample("call (212) 555-0147")).passed is False


@pytest.mark.parametrize(("text", "expected"), [
    ("Amex 3782 822463 10005", ["credit_card"]),
    ("Diners 3056 930902 5904", ["credit_card"]),
    ("Visa 4222222222222", ["credit_card"]),
    ("4111 1111 1111 1111 1", []),   # Visa has 13, 16 or 19 digits, not 17
    ("378282246310005 0", []),        # 16 digits starting 37: not an Amex length
    ("4111-1111 1111-1111", []),      # mixed separators
    ("41 11 11 11 11 11 11 11", []),  # not grouped as a card
])
def test_cards_need_issuer_length_and_card_grouping(text, expected):
    assert kinds(text, ("credit_card",)) == expected


def test_iban_needs_its_country_length():
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("XX89 3704 0044 0532 0130 00")  # no such country
    # Valid mod 97 but 20 characters, while German IBANs have 22.
    assert not iban_valid("DE72 3704 0044 0532 01")


def test_ssn_follows_the_ssa_rules_and_is_opt_in():
    assert findings("SSN 536-22-1234", ("ssn",)) == [("ssn", "536221234")]
    for invalid in ("000-12-3456", "666-12-3456", "912-12-3456", "536-00-1234", "536-22-0000"):
        assert findings(invalid, ("ssn",)) == [], invalid
    assert kinds("SSN 536-22-1234") == []  # not in the default kinds


def test_public_ip_addresses_only():
    assert findings("from 81.2.69.160 and 2001:4860:4860::8888", ("ip_address",)) == [
        ("ip_address", "81.2.69.160"), ("ip_address", "2001:4860:4860::8888")]
    private = "hosts 10.20.30.40, 192.168.1.1, 127.0.0.1, 203.0.113.7, fe80::1, ::1"
    assert findings(private, ("ip_address",)) == []
    assert findings("versions 1.2.3.4.5 and v1.2.3.4", ("ip_address",)) == []


@pytest.mark.parametrize("text", [
    "background: url('img/logo@2x.png'); icons logo@3x.webp",
    "git clone git@github.com:acme/billing.git",
    "npm i @types/node@20.11.5",
])
def test_file_names_and_git_remotes_are_not_emails(text):
    assert kinds(text, ("email",)) == []


def test_masks_never_show_the_whole_value(build, sample):
    score = build(Pii, detect=list(ALL_KINDS)).score(
        sample("ssn 536-22-1234, ip 81.2.69.160, phone +33 1 70 36 42 18"))
    assert score.measurements["ssn"] == 1 and score.measurements["ip_address"] == 1
    assert score.measurements["phone"] == 1
    for secret in ("536-22", "81.2.69", "70 36 42"):
        assert secret not in score.rationale


@pytest.mark.parametrize(("text", "region", "e164"), [
    ("Rufen Sie unter 030 1234567 an.", "DE", "+49301234567"),
    ("Chiamare lo 0161 4960", "IT", "+3901614960"),
    ("ZIP 94103-1234", "ES", "+34941031234"),
])
def test_variable_length_regions_are_opt_in(text, region, e164):
    # Short codes and ZIP+4 are valid numbers in these regions, so they are not defaults.
    assert findings(text, ("phone",)) == []
    assert findings(text, ("phone",), phone_regions=[region]) == [("phone", e164)]


@pytest.mark.parametrize(("text", "expected"), [
    ("Order 4155550123 shipped today.", []),
    ("Order #2125550147", []),
    ("Policy no. 0161 496 0734 renews in May.", []),
    ("Tracking number: 2025110245", []),
    ("My number is 2125550147, call after six.", [("phone", "+12125550147")]),
    ("Customer phone 2125550147", [("phone", "+12125550147")]),
    ("Ref: +44 20 7946 0958", [("phone", "+442079460958")]),  # "+": a phone wherever it is
])
def test_a_national_number_after_an_id_label_is_that_id(text, expected):
    assert findings(text, ("phone",)) == expected


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ('{"id": 4155550123, "created": "2025-11-02T09:45:00Z"}', "phone", []),
    ('{"order_id": "2125550147"}', "phone", []),
    ("ご注文番号 4155550123 の商品は本日発送しました。", "phone", []),
    ('{"phone": "2125550147"}', "phone", [("phone", "+12125550147")]),
    ("firmware 5.2.118.131, version: 10.0.190.1, v5.2.118.131", "ip_address", []),
    ("After the update the user logged in from 81.2.69.160.", "ip_address",
     [("ip_address", "81.2.69.160")]),
])
def test_json_id_keys_cjk_labels_and_versions(text, kind, expected):
    assert findings(text, (kind,)) == expected


@pytest.mark.parametrize("text", [
    "Serial number SN 7035551234",
    "您的新订单号是 2025112812",
    "Depot code 020 7946 0958",
    "Bestellnummer ist 2025112812",
    "Número de pedido es 2025112812",
    "رقم الطلب هو ٢٠٢٥١١٢٨١٢",
    "Votre numéro de commande est 2025112812",
    "ご注文番号は 2025112812 です",
])
def test_an_identifier_label_in_any_language_with_a_copula_is_not_a_phone(text):
    # Issue 9 (new-user tester): identifier labels in the supported languages, followed by
    # an id word (SN, number, #) and a copula (is, ist, es, est, 是, は, هو).
    assert findings(text, ("phone",)) == []


@pytest.mark.parametrize(("text", "e164"), [
    ("Meine Nummer ist 020 7946 0958, ruf an.", "+442079460958"),
    ("Mi número es el 020 7946 0958.", "+442079460958"),
    ("Mon numéro est le 01 70 36 42 18.", "+33170364218"),
    ("我的电话是 020 7946 0958", "+442079460958"),
    ("رقم هاتفي هو 020 7946 0958", "+442079460958"),
    ("My number is 703 555 1234", "+17035551234"),
])
def test_a_personal_number_after_a_copula_is_still_a_phone(text, e164):
    assert findings(text, ("phone",)) == [("phone", e164)]


@pytest.mark.parametrize("text", [
    "Call our Leeds branch 020 7946 0958 after nine.",
    "The depot 020 7946 0958 is open on Saturdays.",
])
def test_a_places_number_is_still_a_phone(text):
    assert findings(text, ("phone",)) == [("phone", "+442079460958")]
