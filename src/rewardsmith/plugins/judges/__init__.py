"""Built-in LLM judge components: the rubric judge and the pairwise judge.

Both reach a model only through the judge-backend contract (``core/judging.py``) and send
candidate text only as delimited, escaped data (``prompting``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.plugins.judges.cascade import CascadeJudge
from rewardsmith.plugins.judges.jury import JuryJudge
from rewardsmith.plugins.judges.listwise import ListwiseJudge
from rewardsmith.plugins.judges.pairwise_judge import PairwiseJudge
from rewardsmith.plugins.judges.rubric_judge import RubricJudge

__all__ = ["CascadeJudge", "JuryJudge", "ListwiseJudge", "PairwiseJudge", "RubricJudge"]


@hookimpl
def register_components(register: Callable[[type[Any]], None]) -> None:
    register(RubricJudge)
    register(PairwiseJudge)
    register(CascadeJudge)
    register(JuryJudge)
    register(ListwiseJudge)
