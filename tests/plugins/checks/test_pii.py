"""pii: detectors, validators, allow-lists and prompt values."""

from __future__ import annotations

import pytest

from rewardsmith.plugins.checks.pii import Pii, find_pii, iban_valid, luhn_valid


def kinds(text, detect=("email", "phone", "credit_card", "iban")):
    return sorted(k for k, _, _ in find_pii(text, frozenset(detect)))


def test_luhn_and_iban_validators():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82WEST12345698765433")


@pytest.mark.parametrize(("text", "expected"), [
    ("mail me at jane.doe+rft@example.co.uk today", ["email"]),
    ("call +44 20 7946 0958 now", ["phone"]),
    ("call (555) 010-4477 now", ["phone"]),
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
