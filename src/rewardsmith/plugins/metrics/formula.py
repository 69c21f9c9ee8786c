"""``kind = "formula"``: a declared expression over numbers found in sample metadata.

The expression goes through the project's safe formula parser (``core.formula``): it is
parsed and checked at pack load and never ``eval``'d.
"""

from __future__ import annotations

import ast
import re
from typing import Literal

from pydantic import Field, FiniteFloat, field_validator, model_validator

from rewardsmith.core.component import ComponentContext
from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.formula import Formula, FormulaError, parse_formula
from rewardsmith.core.sample import Sample
from rewardsmith.plugins.metrics.base import MetricSource, SourceConfig
from rewardsmith.plugins.metrics.values import KeyPath, format_key_path, number_at, parse_key_path

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class FormulaSourceConfig(SourceConfig):
    kind: Literal["formula"] = "formula"
    inputs: dict[str, str] = Field(
        min_length=1,
        description="Input name -> metadata key path, e.g. { latency = 'telemetry.latency_ms' }.",
    )
    expression: str = Field(
        min_length=1,
        description="Arithmetic over the inputs: + - * / **, comparisons, and/or, if-else, "
        "min/max/abs/clamp.",
    )
    defaults: dict[str, FiniteFloat] = Field(
        default_factory=dict,
        description="Values for inputs that are absent or null; other missing inputs are a "
        "'metric_missing' error.",
    )

    @field_validator("inputs")
    @classmethod
    def _valid_inputs(cls, inputs: dict[str, str]) -> dict[str, str]:
        for name, path in inputs.items():
            if not re.match(_IDENTIFIER, name):
                raise ValueError(f"input name {name!r} must be an identifier")
            parse_key_path(path)
        return inputs

    @model_validator(mode="after")
    def _valid_expression(self) -> FormulaSourceConfig:
        unknown = sorted(_names_used(self.expression) - set(self.inputs))
        if unknown:
            raise ValueError(
                f"expression {self.expression!r} uses {', '.join(map(repr, unknown))}, which "
                f"is not an input; inputs: {', '.join(sorted(self.inputs))}"
            )
        extra_defaults = sorted(set(self.defaults) - set(self.inputs))
        if extra_defaults:
            raise ValueError(f"defaults name {extra_defaults}, which are not inputs")
        try:
            parse_formula(self.expression, frozenset(self.inputs))
        except FormulaError as exc:
            raise ValueError(str(exc)) from None
        return self

    def build(self, context: ComponentContext | None = None) -> MetricSource:
        formula = parse_formula(self.expression, frozenset(self.inputs))
        paths = {name: parse_key_path(path) for name, path in self.inputs.items()}
        return FormulaSource(formula, paths, dict(self.defaults))


def _names_used(expression: str) -> set[str]:
    """Variable names in the expression (function names excluded), so an unknown one is
    reported as "not an input" rather than by the core parser's aggregation wording.
    """
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return set()  # parse_formula reports the syntax error
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


class FormulaSource(MetricSource):
    def __init__(self, formula: Formula, paths: dict[str, KeyPath],
                 defaults: dict[str, float]) -> None:
        self.formula = formula
        self.paths = paths
        self.defaults = defaults

    def read_sync(self, sample: Sample) -> float:
        env: dict[str, float] = {}
        for name, path in self.paths.items():
            where = f"input {name!r} (metadata.{format_key_path(path)})"
            env[name] = number_at(sample.metadata, path, where, default=self.defaults.get(name),
                                  missing_from=" from the sample")
        try:
            return self.formula.evaluate(env)
        except FormulaError as exc:
            raise ComponentError(str(exc), kind=ErrorKind.METRIC_INVALID) from None

    async def read(self, sample: Sample) -> float:
        return self.read_sync(sample)
