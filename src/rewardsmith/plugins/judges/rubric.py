"""Rubrics: criteria with observable indicators, the verdict schema they generate, and
the interpretation of a verdict into per-criterion values.

A verdict is never coerced: anything off the generated schema (a missing criterion, an
extra key, a level outside the declared anchors, a wrong type) raises
``ComponentError(kind=ErrorKind.JUDGE_INVALID_VERDICT)``, even if the backend claims to have
validated it — a third-party backend may not have.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rewardsmith.core.errors import ComponentError, ErrorKind
from rewardsmith.core.verdict_schema import compiled_validator

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Criterion values are reported as measurements "<component>.<criterion>"; these names
# are taken by the judge's own measurements.
RESERVED_IDS = frozenset({
    "latency_ms", "judge_latency_ms", "input_tokens", "output_tokens", "cost_usd", "cached",
    "criteria_passed", "criteria_total", "holistic_score", "failed", "judge_calls",
    # cascades, juries, budgets and distribution scores (issue 13)
    "cascade_escalated", "cascade_first_value", "jury_agreement", "jury_spread",
    "jurors_voted", "jurors_failed", "budget_degraded", "score_source", "sampled_value",
    "holistic_expected", "verdict_mass",
})


class Level(BaseModel):
    """An ordinal anchor: what a response at ``score`` looks like."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    score: int
    description: str = Field(min_length=1)


def _check_levels(levels: Sequence[Level], where: str) -> None:
    scores = [lv.score for lv in levels]
    if len(scores) < 2:
        raise ValueError(f"{where} needs at least two levels, got {len(scores)}")
    if len(set(scores)) != len(scores):
        raise ValueError(f"{where} has duplicate level scores {scores}")


class Criterion(BaseModel):
    """One rubric item. Pass/fail by default; ordinal when ``levels`` are given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    pass_if: str = Field(min_length=1, description="The observable condition for a pass.")
    levels: list[Level] | None = Field(
        default=None, description="Ordinal anchors; the verdict is then one of these scores."
    )
    pass_at: int | None = Field(
        default=None, description="With levels: the lowest score that counts as a pass "
        "(default: the highest level)."
    )
    weight: float = Field(default=1.0, ge=0)

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(f"criterion id {value!r} must be an identifier (letters, digits, "
                             "underscore; not starting with a digit; at most 64 characters)")
        if value in RESERVED_IDS:
            raise ValueError(f"criterion id {value!r} is reserved for the judge's measurements")
        return value

    @model_validator(mode="after")
    def _levels(self) -> Criterion:
        if self.levels is not None:
            _check_levels(self.levels, f"criterion {self.id!r}")
            if self.pass_at is not None and self.pass_at not in self.level_scores:
                raise ValueError(f"criterion {self.id!r}: pass_at {self.pass_at} is not one of "
                                 f"its levels {self.level_scores}")
        elif self.pass_at is not None:
            raise ValueError(f"criterion {self.id!r}: pass_at needs levels")
        return self

    @property
    def level_scores(self) -> list[int]:
        return sorted(lv.score for lv in self.levels or ())

    def value_of_level(self, level: int) -> float:
        low, high = self.level_scores[0], self.level_scores[-1]
        return (level - low) / (high - low)

    def describe(self) -> str:
        """The criterion as the judge reads it (trusted pack text)."""
        lines = [f"- `{self.id}`: {self.pass_if.strip()}"]
        if self.levels is None:
            lines[0] += ' Verdict "pass" if this holds, otherwise "fail".'
        else:
            lines[0] += " Verdict: a level, one of " + ", ".join(map(str, self.level_scores))
            lines += [f"    - {lv.score}: {lv.description.strip()}"
                      for lv in sorted(self.levels, key=lambda lv: lv.score)]
        return "\n".join(lines)


def parse_criteria(raw: Any, where: str) -> list[Criterion]:
    """Validate a list of criterion tables; raise ComponentError naming ``where``."""
    if not isinstance(raw, list) or not raw:
        raise ComponentError(f"{where}: expected a non-empty list of criteria, got "
                             f"{type(raw).__name__}", kind=ErrorKind.INVALID_RUBRIC)
    criteria: list[Criterion] = []
    for i, item in enumerate(raw):
        try:
            criteria.append(Criterion.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'criterion'}: {e['msg']}" for e in exc.errors()
            )
            raise ComponentError(f"{where}[{i}]: {problems}",
                                 kind=ErrorKind.INVALID_RUBRIC) from None
    return criteria


def merge_criteria(base: Sequence[Criterion], extra: Sequence[Criterion], where: str
                   ) -> list[Criterion]:
    ids = [c.id for c in (*base, *extra)]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ComponentError(f"{where}: criterion ids used twice: {duplicates}",
                             kind=ErrorKind.INVALID_RUBRIC)
    return [*base, *extra]


def load_criteria_file(text: str, where: str) -> list[Criterion]:
    """Criteria shared between judges: a TOML file with ``[[criteria]]`` tables."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: invalid TOML: {exc}") from None
    try:
        return parse_criteria(document.get("criteria"), f"{where}: criteria")
    except ComponentError as exc:
        raise ValueError(str(exc)) from None


# -- schemas ----------------------------------------------------------------------------
def criterion_schema(criterion: Criterion) -> dict[str, Any]:
    if criterion.levels is None:
        key, spec = "verdict", {"type": "string", "enum": ["pass", "fail"]}
    else:
        key, spec = "level", {"type": "integer", "enum": criterion.level_scores}
    return {
        "type": "object",
        "properties": {"rationale": {"type": "string"}, key: spec},
        "required": ["rationale", key],
        "additionalProperties": False,
    }


def explicit_schema(criteria: Sequence[Criterion]) -> dict[str, Any]:
    """One required property per criterion, in rubric order (rationale before verdict)."""
    return {
        "type": "object",
        "properties": {c.id: criterion_schema(c) for c in criteria},
        "required": [c.id for c in criteria],
        "additionalProperties": False,
    }


def holistic_schema(scale: Sequence[int]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"rationale": {"type": "string"},
                       "score": {"type": "integer", "enum": list(scale)}},
        "required": ["rationale", "score"],
        "additionalProperties": False,
    }


def check_verdict(parsed: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """The verdict object if it satisfies ``schema``; otherwise judge_invalid_verdict."""
    if not isinstance(parsed, dict):
        raise ComponentError(f"judge verdict is {type(parsed).__name__}, not a JSON object",
                             kind=ErrorKind.JUDGE_INVALID_VERDICT)
    validator = compiled_validator(schema)
    if validator.is_valid(parsed):
        return parsed
    errors = sorted(validator.iter_errors(parsed), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}"
            for e in errors[:3]
        )
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ComponentError(f"judge verdict does not match the rubric's schema: {shown}{more}",
                             kind=ErrorKind.JUDGE_INVALID_VERDICT)
    return parsed


# -- interpretation ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion's reading of a verdict: its value in [0, 1], pass/fail, weight,
    the judge's rationale and the verdict as given (a label or a level)."""

    id: str
    value: float  # in [0, 1]
    passed: bool
    weight: float
    rationale: str
    verdict: str | int

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "passed": self.passed, "weight": self.weight,
                "verdict": self.verdict, "rationale": self.rationale}


def interpret_explicit(criteria: Sequence[Criterion], verdict: Mapping[str, Any]
                       ) -> list[CriterionResult]:
    """Per-criterion values from a verdict already checked against ``explicit_schema``."""
    results: list[CriterionResult] = []
    for c in criteria:
        item = verdict[c.id]
        rationale = str(item["rationale"]).strip()
        if c.levels is None:
            passed = item["verdict"] == "pass"
            results.append(CriterionResult(c.id, 1.0 if passed else 0.0, passed, c.weight,
                                           rationale, item["verdict"]))
        else:
            level = int(item["level"])
            threshold = c.pass_at if c.pass_at is not None else c.level_scores[-1]
            results.append(CriterionResult(c.id, c.value_of_level(level), level >= threshold,
                                           c.weight, rationale, level))
    return results


def weighted_value(results: Sequence[CriterionResult]) -> float:
    total = sum(r.weight for r in results)
    if total <= 0:
        raise ComponentError("every criterion has weight 0; nothing to aggregate",
                             kind=ErrorKind.INVALID_RUBRIC)
    return sum(r.weight * r.value for r in results) / total


def summarise(results: Sequence[CriterionResult], limit: int = 600) -> str:
    """One readable line: how many passed, and why the failures failed."""
    passed = sum(r.passed for r in results)
    head = f"{passed}/{len(results)} criteria passed"
    failures = [f"{r.id}: {r.rationale}" if r.rationale else r.id
                for r in results if not r.passed]
    text = head + ("; failed: " + " | ".join(failures) if failures else "")
    return text if len(text) <= limit else text[: limit - 1] + "…"
