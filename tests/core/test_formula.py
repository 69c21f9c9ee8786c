from __future__ import annotations

import pytest

from rewardsmith.core.formula import FormulaError, parse_formula

NAMES = {"a", "b", "c"}


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("0.5*a + 0.5*b", {"a": 1, "b": 0}, 0.5),
        ("a ** 2 - b / 4", {"a": 3, "b": 2}, 8.5),
        ("min(a, b, c)", {"a": 3, "b": 2, "c": 5}, 2),
        ("max(a, b)", {"a": 3, "b": 2}, 3),
        ("clamp(a - b, 0, 1)", {"a": 3, "b": 1}, 1),
        ("abs(-a)", {"a": 2}, 2),
        ("a if b >= 0.5 else 0", {"a": 0.7, "b": 0.2}, 0),
        ("(a > 0.5) and (b > 0.5)", {"a": 0.7, "b": 0.9}, 1),
        ("0 < a <= 1", {"a": 1}, 1),
        ("not a or b", {"a": 1, "b": 0}, 0),
        ("-a + +b", {"a": 1, "b": 3}, 2),
    ],
)
def test_evaluates(text: str, env: dict[str, float], expected: float) -> None:
    assert parse_formula(text, NAMES).evaluate(env) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('id')", "Call is not allowed"),
        ("__import__('os')", "calls '__import__'"),
        ("a.__class__", "Attribute is not allowed"),
        ("a[0]", "Subscript is not allowed"),
        ("(lambda: 1)()", "Call is not allowed"),
        ("[x for x in a]", "ListComp is not allowed"),
        ("d + 1", "names 'd'"),
        ("True + a", "booleans"),
        ("'text'", "Constant is not allowed"),
        ("a +", "not valid"),
        ("min(a)", "at least 2"),
        ("clamp(a, 1)", "takes 3"),
        ("max(a, b, key=a)", "keyword arguments"),
        ("a @ b", "BinOp is not allowed"),
    ],
)
def test_rejects_anything_but_the_grammar(text: str, fragment: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula(text, NAMES)
    assert fragment in str(info.value)


def test_records_only_the_names_it_uses() -> None:
    assert parse_formula("a + 2*b", NAMES).names == {"a", "b"}


def test_runtime_errors_are_formula_errors_not_crashes() -> None:
    with pytest.raises(FormulaError, match="division by zero"):
        parse_formula("a / b", NAMES).evaluate({"a": 1, "b": 0})
    with pytest.raises(FormulaError):
        parse_formula("10.0 ** a ** a", NAMES).evaluate({"a": 9})


def test_length_and_depth_limits() -> None:
    with pytest.raises(FormulaError, match="longer than"):
        parse_formula("a+" * 1500 + "a", NAMES)
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_formula("(" * 100 + "a" + ")" * 100 + " + -" * 70 + "a", NAMES)
