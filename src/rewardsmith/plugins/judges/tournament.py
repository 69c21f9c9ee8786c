"""Turning pairwise outcomes into per-member rewards: which pairs to ask under a budget,
win rates, and a Bradley-Terry fit (minorise-maximise, no dependencies).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PairResult:
    """The outcome of comparing members ``i`` and ``j``: ``i_score`` is 1 (i won), 0.5
    (tie, including position-inconsistent verdicts) or 0 (j won)."""

    i: int
    j: int
    i_score: float
    inconsistent: bool


def round_robin_order(n: int) -> list[tuple[int, int]]:
    """All pairs of ``n`` members, in rounds where each member plays at most once (the
    circle method), so any prefix spreads comparisons evenly."""
    players: list[int | None] = list(range(n)) + ([None] if n % 2 else [])
    m = len(players)
    pairs: list[tuple[int, int]] = []
    for _ in range(m - 1):
        for k in range(m // 2):
            a, b = players[k], players[m - 1 - k]
            if a is not None and b is not None:
                pairs.append((min(a, b), max(a, b)))
        players = [players[0], players[-1], *players[1:-1]]
    return pairs


def plan_pairs(n: int, budget: int | None) -> list[tuple[int, int]]:
    """The pairs to compare: all of them, or ``budget`` pairs chosen deterministically so
    the least-compared members are served first (every member gets a comparison as soon
    as the budget allows ceil(n/2) pairs)."""
    ordered = round_robin_order(n)
    if budget is None or budget >= len(ordered):
        return ordered
    counts = [0] * n
    chosen: list[tuple[int, int]] = []
    remaining = list(ordered)
    while len(chosen) < budget and remaining:
        # Fewest comparisons so far first; round-robin order breaks ties deterministically.
        best = min(range(len(remaining)),
                   key=lambda k: (min(counts[remaining[k][0]], counts[remaining[k][1]]),
                                  counts[remaining[k][0]] + counts[remaining[k][1]], k))
        i, j = remaining.pop(best)
        counts[i] += 1
        counts[j] += 1
        chosen.append((i, j))
    return chosen


@dataclass
class MemberRecord:
    wins: float = 0.0
    ties: float = 0.0
    losses: float = 0.0
    inconsistent: int = 0

    @property
    def comparisons(self) -> int:
        return int(self.wins + self.ties + self.losses)

    def add(self, score: float, inconsistent: bool) -> None:
        if score == 1.0:
            self.wins += 1
        elif score == 0.0:
            self.losses += 1
        else:
            self.ties += 1
        self.inconsistent += inconsistent


def records(n: int, results: Sequence[PairResult]) -> list[MemberRecord]:
    out = [MemberRecord() for _ in range(n)]
    for r in results:
        out[r.i].add(r.i_score, r.inconsistent)
        out[r.j].add(1.0 - r.i_score, r.inconsistent)
    return out


def win_rates(recs: Sequence[MemberRecord]) -> list[float | None]:
    return [(r.wins + 0.5 * r.ties) / r.comparisons if r.comparisons else None for r in recs]


def bradley_terry(n: int, results: Sequence[PairResult], *, prior_games: float = 1.0,
                  max_iterations: int = 1000, tolerance: float = 1e-10) -> list[float]:
    """Bradley-Terry strengths by Hunter's MM algorithm; ties count half a win each.

    Each member also plays ``prior_games`` drawn games against a virtual opponent of
    strength 1: this keeps undefeated and winless members finite and anchors the scale.
    """
    games = [[0.0] * n for _ in range(n)]
    score = [0.5 * prior_games] * n
    for r in results:
        games[r.i][r.j] += 1
        games[r.j][r.i] += 1
        score[r.i] += r.i_score
        score[r.j] += 1.0 - r.i_score
    strength = [1.0] * n
    for _ in range(max_iterations):
        updated = []
        for i in range(n):
            denominator = prior_games / (strength[i] + 1.0) + sum(
                games[i][j] / (strength[i] + strength[j]) for j in range(n) if games[i][j]
            )
            updated.append(score[i] / denominator if denominator > 0 else strength[i])
        change = max(abs(math.log(a / b)) for a, b in zip(updated, strength, strict=True))
        strength = updated
        if change < tolerance:
            break
    return strength


def expected_win_rates(strength: Sequence[float], members: Sequence[int]) -> dict[int, float]:
    """Each member's mean Bradley-Terry probability of beating the other ``members``:
    in [0, 1], 0.5 when all are equal, ordered like the strengths."""
    out: dict[int, float] = {}
    for i in members:
        others = [j for j in members if j != i]
        out[i] = (sum(strength[i] / (strength[i] + strength[j]) for j in others) / len(others)
                  if others else 0.5)
    return out
