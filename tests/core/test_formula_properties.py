"""Property test (issue 10): the formula parser answers any text with a Formula or a
FormulaError, and a formula evaluates to a finite float or a FormulaError."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardsmith.core.formula import Formula, FormulaError, parse_formula

PROPERTY = settings(max_examples=1500, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
NAMES = frozenset({"a", "b", "judge_1"})
TOKENS = ["a", "b", "judge_1", "x", "1", "0", "2.5", "1e308", "9" * 400, "+", "-", "*", "/",
          "**", "(", ")", ",", "<", "<=", "==", "!=", "and", "or", "not", "if", "else",
          "min", "max", "abs", "clamp", "True", "lambda", ".", "[", "]", "__import__", " "]
formulas = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join) | st.text(max_size=60)
values = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**6, 10**6)


@PROPERTY
@given(source=formulas, a=values, b=values, j=values)
def test_any_text_parses_or_fails_by_name_and_evaluates_finite(source: str, a: float,
                                                               b: float, j: float) -> None:
    try:
        formula = parse_formula(source, NAMES)
    except FormulaError as exc:
        assert str(exc)
        return
    assert isinstance(formula, Formula) and formula.names <= NAMES
    try:
        value = formula.evaluate({"a": float(a), "b": float(b), "judge_1": float(j)})
    except FormulaError:
        return
    assert isinstance(value, float) and math.isfinite(value)
