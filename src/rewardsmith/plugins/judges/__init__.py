"""Built-in LLM judge components: the rubric judge and the pairwise judge.

Both reach a model only through the judge-backend contract (``core/judging.py``) and send
candidate text only as delimited, escaped data (``prompting``).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from rewardsmith.core.hookspecs import hookimpl

__all__ = ["CascadeJudge", "JuryJudge", "ListwiseJudge", "PairwiseJudge", "RubricJudge"]

# Registration order. Imported only by the hook or attribute access: a pack using the
# rubric judge imports its module, not the others (core/plugin_manifest.py, issue 13).
_JUDGES = {"RubricJudge": "rubric_judge", "PairwiseJudge": "pairwise_judge",
           "CascadeJudge": "cascade", "JuryJudge": "jury", "ListwiseJudge": "listwise"}


def __getattr__(name: str) -> Any:
    if name in _JUDGES:
        return getattr(import_module(f"{__name__}.{_JUDGES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_components(register: Callable[[type[Any]], None]) -> None:
    for name in _JUDGES:
        register(__getattr__(name))
