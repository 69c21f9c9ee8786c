"""Pack test suites: load and validate the JSONL cases a pack's ``[tests]`` table names.

The format is specified in ``docs/pack-tests.md``. Every problem is reported with the file,
the line and the case name, and all problems of a suite are reported at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from rewardsmith.core.errors import RewardsmithError

PROBE_CATEGORIES = frozenset({
    "verbosity", "repetition", "unicode", "fake_verdict", "judge_instruction",
    "empty_content", "prompt_copy", "wrong_language",
})
#: A component's simulated verdict: criterion -> "pass" | "fail" | level, or a pairwise
#: {"winner": ...}; see docs/pack-tests.md.
Verdicts = dict[str, dict[str, Any]]


_WINNERS = frozenset({"A", "B", "tie", "candidate", "opponent", "this"})
_VERDICT_WORDS = frozenset({"pass", "passed", "true", "yes", "fail", "failed", "false", "no"})


def check_verdicts(verdicts: Verdicts) -> Verdicts:
    """Reject verdict values the simulated judge would misread (a typo must not pass)."""
    for component, answers in verdicts.items():
        if not isinstance(answers, dict):
            raise ValueError(f"verdicts.{component} must be an object of criterion -> verdict")
        for key, value in answers.items():
            where = f"verdicts.{component}.{key}"
            if key == "winner":
                if value not in _WINNERS:
                    raise ValueError(f"{where} must be one of {sorted(_WINNERS)}, got {value!r}")
            elif key in ("position_bias", "malformed"):
                if not isinstance(value, bool):
                    raise ValueError(f"{where} must be true or false, got {value!r}")
            elif not (isinstance(value, bool | int) or (
                    isinstance(value, str) and value.lower() in _VERDICT_WORDS)):
                raise ValueError(f"{where} must be \"pass\", \"fail\", a boolean or a level "
                                 f"integer, got {value!r}")
    return verdicts


class SuiteError(RewardsmithError):
    """The suite cannot be run as written; the message names file, line and case."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentExpectation(_Strict):
    min: float | None = None
    max: float | None = None
    passed: bool | None = None
    value: float | None = Field(default=None, description="Exact value (within 1e-9).")


class Expectation(_Strict):
    reward: tuple[float, float] | None = Field(
        default=None, description="Inclusive range of aggregate_reward_score.")
    reward_below: float | None = None
    reward_above: float | None = None
    status: Literal["ok", "gated", "failed", "judge_unavailable"] | None = None
    gate: str | None = None
    components: dict[str, ComponentExpectation] = Field(default_factory=dict)
    turn_rewards: list[float] | None = Field(
        default=None, description="The per-turn reward vector, each within 1e-9 "
        "(trajectories; see docs/agents.md).")
    labels: dict[str, bool | int | str] = Field(
        default_factory=dict, description="Expected judge verdicts per "
        "'<component>.<criterion>' (or '<component>' for its pass/fail); agreement only.")

    @model_validator(mode="after")
    def _check(self) -> Expectation:
        if self.reward is not None and self.reward[0] > self.reward[1]:
            raise ValueError(f"reward range {list(self.reward)} has low > high")
        return self


class _CaseBase(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    description: str = ""


class _SingleSampleCase(_CaseBase):
    sample: dict[str, Any]
    expect: Expectation
    verdicts: Verdicts = Field(default_factory=dict)

    @field_validator("verdicts")
    @classmethod
    def _verdicts(cls, value: Verdicts) -> Verdicts:
        return check_verdicts(value)


class GoldenCase(_SingleSampleCase):
    kind: Literal["golden"]


class ProbeCase(_SingleSampleCase):
    kind: Literal["probe"]
    category: str

    @model_validator(mode="after")
    def _bound(self) -> ProbeCase:
        if self.expect.reward_below is None and self.expect.reward is None:
            raise ValueError("a probe needs expect.reward_below (or an expect.reward range)")
        return self


class PairVerdicts(_Strict):
    better: Verdicts = Field(default_factory=dict)
    worse: Verdicts = Field(default_factory=dict)

    @field_validator("better", "worse")
    @classmethod
    def _verdicts(cls, value: Verdicts) -> Verdicts:
        return check_verdicts(value)


class PairCase(_CaseBase):
    kind: Literal["pair"]
    better: dict[str, Any]
    worse: dict[str, Any]
    margin: float = Field(default=0.0, ge=0)
    verdicts: PairVerdicts = Field(default_factory=PairVerdicts)


Case = Annotated[GoldenCase | ProbeCase | PairCase, Field(discriminator="kind")]
_CASE = TypeAdapter(Case)


@dataclass(frozen=True)
class LoadedCase:
    case: GoldenCase | ProbeCase | PairCase
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def name(self) -> str:
        return self.case.name


def _error_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p not in ("golden", "probe", "pair"))
        parts.append(f"{loc or 'case'}: {err['msg']}")
    return "; ".join(parts)


def _suite_files(path: Path | Traversable) -> list[Path | Traversable]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.name.endswith(".jsonl")),
                       key=lambda p: p.name)
        if files:
            return files
        raise SuiteError(f"suite folder {path} holds no *.jsonl files")
    raise SuiteError(f"suite {path} does not exist")


def _lines(path: Path | Traversable) -> Iterator[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("//"):
            yield number, line


def load_suite(path: Path | Traversable) -> list[LoadedCase]:
    """Every case of a suite file or folder; raises :class:`SuiteError` listing all problems."""
    cases: list[LoadedCase] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for file in _suite_files(path):
        label = str(file)
        for number, line in _lines(file):
            where = f"{label}:{number}"
            try:
                raw = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON: {exc}")
                continue
            name = raw.get("name") if isinstance(raw, dict) else None
            who = f"{where}: case {name!r}" if isinstance(name, str) else where
            if not isinstance(raw, dict) or raw.get("kind") not in ("golden", "probe", "pair"):
                kind = raw.get("kind") if isinstance(raw, dict) else type(raw).__name__
                problems.append(f"{who}: 'kind' must be golden, probe or pair, got {kind!r}")
                continue
            if isinstance(name, str):
                if name in seen:
                    problems.append(f"{who}: duplicate case name (first at {seen[name]})")
                    continue
                seen[name] = where
            try:
                case = _CASE.validate_python(raw)
            except ValidationError as exc:
                problems.append(f"{who}: {_error_text(exc)}")
                continue
            cases.append(LoadedCase(case, label, number))
    if problems:
        raise SuiteError("invalid test suite:\n  " + "\n  ".join(problems))
    if not cases:
        raise SuiteError(f"suite {path} has no cases")
    return cases

