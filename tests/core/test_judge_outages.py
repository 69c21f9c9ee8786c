"""The one list of judge outage kinds (core.judge_outages) is complete: every failure kind
a judge component can produce is an outage kind or excluded on purpose, with a reason
(tester finding 4: ``ambiguous_verdict`` on every sample used to exit 0)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith.core.errors import ErrorKind
from rewardsmith.core.judge_outages import JUDGE_OUTAGE_KINDS, NOT_OUTAGE_KINDS, outage_kind

SRC = Path(rewardsmith.__file__).parent
# Where judge failures are raised: the judge components, the backends, the contract.
JUDGE_MODULES = [*sorted((SRC / "plugins" / "judges").glob("*.py")),
                 *sorted((SRC / "plugins" / "backends").glob("*.py")),
                 SRC / "core" / "judging.py"]
# What the engine gives an async, thread or group component (core/engine.py ``_exception``,
# ``_error`` and the deadline), and a replayed pack test (packtest/cassette.py).
ENGINE_KINDS = {ErrorKind.TIMEOUT, ErrorKind.DEADLINE, ErrorKind.PLUGIN_EXIT,
                ErrorKind.INVALID_SCORE, ErrorKind.JUDGE_INTERNAL_ERROR, ErrorKind.EXCEPTION,
                ErrorKind.WORKER_OVERRUN, ErrorKind.WORKERS_EXHAUSTED, ErrorKind.ERROR,
                ErrorKind.CASSETTE_MISS}


def kinds_named_in(path: Path) -> set[str]:
    """``ErrorKind.X`` members and plugin kind constants (``NAME = "snake_case"`` passed as
    ``kind=``) that a module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {str(ErrorKind[node.attr]) for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
             and node.value.id == "ErrorKind" and node.attr in ErrorKind.__members__}
    constants = {target.id: node.value.value for node in ast.walk(tree)
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                 and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "kind" and \
                isinstance(node.value, ast.Name) and node.value.id in constants:
            found.add(constants[node.value.id])
    return found


def judge_kinds() -> set[str]:
    kinds = {str(k) for k in ENGINE_KINDS}
    for path in JUDGE_MODULES:
        kinds |= kinds_named_in(path)
    return kinds


def test_the_scan_finds_what_judges_raise() -> None:
    kinds = judge_kinds()
    assert {"judge_parse", "ambiguous_verdict", "judge_invalid_verdict", "judge_refused",
            "judge_input_too_large", "missing_context", "group_too_small",
            "budget_exhausted"} <= kinds


def test_every_kind_a_judge_can_produce_is_classified_once() -> None:
    outage = set(JUDGE_OUTAGE_KINDS)
    excluded = set(NOT_OUTAGE_KINDS)
    assert not outage & excluded
    assert len(outage) == len(JUDGE_OUTAGE_KINDS)
    unclassified = sorted(judge_kinds() - outage - excluded)
    assert unclassified == [], (
        f"judge failure kinds {unclassified} are in neither core.judge_outages list: decide "
        "whether a judge failing every sample with them has lost its judge")


def test_every_exclusion_says_why() -> None:
    for kind, reason in NOT_OUTAGE_KINDS.items():
        assert len(reason) > 20, kind


def test_every_unusable_verdict_kind_is_an_outage_kind() -> None:
    """Tester finding 4 and the README's exit 4, "no usable verdict"."""
    for kind in ("ambiguous_verdict", "judge_parse", "judge_invalid_verdict",
                 "judge_refused", "judge_internal_error", "timeout"):
        assert kind in JUDGE_OUTAGE_KINDS


@pytest.mark.parametrize(("kinds", "expected"), [
    (["judge_parse", "judge_unavailable"], "judge_unavailable"),  # the most telling first
    (["ambiguous_verdict", "ambiguous_verdict"], "ambiguous_verdict"),
    (["judge_input_too_large", "missing_context"], None),  # the judge was never asked
    (["judge_input_too_large", "judge_timeout"], "judge_timeout"),
    (["my_plugin_kind", "judge_input_too_large"], "my_plugin_kind"),  # unclassified: loud
    (["budget_exhausted"], None),
    ([None, "deadline"], "deadline"),
])
def test_outage_kind(kinds: list[str | None], expected: str | None) -> None:
    assert outage_kind(kinds) == expected


def test_unreadable_verdicts_are_outage_kinds_and_what_cascades_escalate() -> None:
    from rewardsmith.core.judge_outages import UNREADABLE_VERDICT_KINDS
    from rewardsmith.plugins.judges.cascade import PARSE_FAILURE_KINDS

    assert set(JUDGE_OUTAGE_KINDS) >= UNREADABLE_VERDICT_KINDS
    assert PARSE_FAILURE_KINDS is UNREADABLE_VERDICT_KINDS
    assert ErrorKind.AMBIGUOUS_VERDICT in PARSE_FAILURE_KINDS  # a StrEnum finds its str
