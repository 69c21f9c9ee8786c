"""The simulated judge of ``packs test --backend simulator``: answers from the cases' verdicts.

A judge request carries the candidate text inside data blocks (``candidate`` for rubric
judges, ``response_a``/``response_b`` for pairwise ones). The policy finds the case the
text belongs to, then the component by the request's schema (the criterion ids of a
rubric verdict, ``winner`` for a pairwise one), and builds a verdict of the request's
schema from the case's ``verdicts``:

* rubric criteria: ``"pass"``/``"fail"`` (or ``true``/``false``), or a level int; criteria
  the case does not mention pass (levels take their highest score);
* holistic rubrics: ``{"score": n}`` (or ``"pass"``/``"fail"`` for the scale's ends);
* pairwise: ``{"winner": "A"}`` means the case's response wins, ``"B"`` its opponent,
  ``"tie"`` neither, in both presentation orders; add ``"position_bias": true`` to make
  the judge answer the same slot in both orders (a position-biased judge);
* listwise: ``{"score": n}`` scores the case's response ``n`` wherever it is shown; with
  ``"position_bias": true`` whichever response is shown first gets the top score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.plugins.judges.prompting import neutralise
from rewardsmith.simulators.faults import VerdictRequest

_BLOCK_RE = re.compile(r"<<<DATA-([0-9a-f]+):([A-Za-z][A-Za-z0-9_.-]*)>>>\n(.*?)\n"
                       r"<<<END-DATA-\1:\2>>>", re.DOTALL)
PASS_WORDS = {"pass", "passed", "true", "yes"}
_MALFORMED = "malformed"
_NOT_A_VERDICT = ("The response looks fine to me overall, but I would rather not commit to a "
                  "verdict.")
FAIL_WORDS = {"fail", "failed", "false", "no"}


def data_blocks(user_text: str) -> dict[str, str]:
    """The data blocks of a judge request's user message, by name."""
    return {name: text for _, name, text in _BLOCK_RE.findall(user_text)}


@dataclass(frozen=True)
class _Entry:
    case: str
    verdicts: dict[str, dict[str, Any]]
    fingerprints: tuple[str, ...]  # prompt/reference text, escaped as the judge sees it


@dataclass
class VerdictBook:
    """Verdicts by (escaped) candidate text, as the judge sees it.

    Two cases may share a response (a golden answer reused under a different prompt);
    the request's other data blocks (prompt, reference) then tell them apart.
    """

    #: Ids of the pack's pairwise components: their verdicts answer pairwise requests
    #: only, everyone else's answer rubric requests only.
    pairwise_ids: frozenset[str] = frozenset()
    #: Ids of the pack's listwise components: their verdicts answer listwise requests only.
    listwise_ids: frozenset[str] = frozenset()
    by_text: dict[str, list[_Entry]] = field(default_factory=dict)

    def add(self, response: str, verdicts: Mapping[str, Mapping[str, Any]], case: str,
            fingerprints: Sequence[str] = ()) -> None:
        entry = _Entry(case, {k: dict(v) for k, v in verdicts.items()},
                       tuple(neutralise(f) for f in fingerprints))
        self.by_text.setdefault(neutralise(response), []).append(entry)

    def lookup(self, block_text: str, request_text: str = "", *, exact: bool = False
               ) -> dict[str, dict[str, Any]] | None:
        entries = self.by_text.get(block_text)
        if entries is None and not exact:
            # The component may have shown a transformed response: take the longest known
            # response contained in the block.
            best = max((t for t in self.by_text if t and t in block_text), key=len, default=None)
            entries = self.by_text.get(best) if best is not None else None
        if not entries:
            return None
        if len(entries) == 1 or all(e.verdicts == entries[0].verdicts for e in entries):
            return entries[0].verdicts
        chosen = max(entries, key=lambda e: sum(f in request_text for f in e.fingerprints))
        return chosen.verdicts

    # -- the policy -------------------------------------------------------------------
    def __call__(self, request: VerdictRequest) -> dict[str, Any] | str:
        schema = request.schema
        if schema is None:
            return "Simulated judge answer."
        user_text = "\n".join(t for role, t in request.messages if role == "user")
        blocks = data_blocks(user_text)
        props = schema.get("properties") or {}
        if "winner" in props:
            return self._pairwise(blocks, props, user_text)
        if "scores" in props and "rationale" in props and len(props) == 2:
            return self._listwise(blocks, props["scores"], user_text)
        verdicts = self.lookup(blocks.get("candidate", ""), user_text) or {}
        rubric = {k: v for k, v in verdicts.items()
                  if k not in self.pairwise_ids | self.listwise_ids}
        component = _component_for(rubric, set(props))
        if component.get(_MALFORMED):
            return _NOT_A_VERDICT
        if "score" in props and "rationale" in props and len(props) == 2:
            return _holistic(component, props["score"])
        return {cid: _criterion(component.get(cid), spec) for cid, spec in props.items()}

    def _listwise(self, blocks: dict[str, str], spec: Mapping[str, Any], user_text: str
                  ) -> dict[str, Any]:
        return _listwise_verdict(self, blocks, spec, user_text)

    def _pairwise(self, blocks: dict[str, str], props: dict[str, Any], user_text: str
                  ) -> dict[str, Any] | str:
        choices = list(props["winner"].get("enum") or ["A", "B", "tie"])
        # Exact matches first: a reference or baseline may contain a short case response.
        attempts = [(slot, other, exact) for exact in (True, False)
                    for slot, other in (("response_a", "B"), ("response_b", "A"))]
        for slot, other, exact in attempts:
            verdicts = self.lookup(blocks.get(slot, ""), user_text, exact=exact) or {}
            component = next((v for k, v in verdicts.items()
                              if k in self.pairwise_ids or "winner" in v), None)
            if component is None:
                continue
            if component.get(_MALFORMED):
                return _NOT_A_VERDICT
            wanted = str(component.get("winner", "tie"))
            if component.get("position_bias"):
                winner = "A"
            elif wanted == "tie":
                winner = "tie"
            elif wanted in ("A", "candidate", "this"):
                winner = "A" if slot == "response_a" else "B"
            else:
                winner = other
            if winner not in choices:
                winner = choices[0]
            return {"rationale": "simulated comparison", "winner": winner}
        return {"rationale": "simulated comparison", "winner": "tie" if "tie" in choices
                else choices[0]}


def _listwise_verdict(book: VerdictBook, blocks: dict[str, str], spec: Mapping[str, Any],
                      user_text: str) -> dict[str, Any]:
    prefix = blocks.get("shared_response_prefix", "")
    biased = False
    scores: dict[str, int] = {}
    for name, item in (spec.get("properties") or {}).items():
        scale = list(range(int(item.get("minimum", 0)), int(item.get("maximum", 10)) + 1))
        verdicts = book.lookup(prefix + blocks.get(name, ""), user_text) or {}
        component = next((v for k, v in verdicts.items() if k in book.listwise_ids), {})
        biased = biased or bool(component.get("position_bias"))
        scores[name] = _level(component.get("score", "pass"), scale)
    if biased and "candidate_1" in scores:
        first = (spec.get("properties") or {})["candidate_1"]
        scores["candidate_1"] = int(first.get("maximum", 10))
    return {"rationale": "simulated listwise scores", "scores": scores}


def _component_for(verdicts: Mapping[str, Mapping[str, Any]], criteria: set[str]
                   ) -> Mapping[str, Any]:
    """The case's verdicts for the component whose criteria best match the schema."""
    best: Mapping[str, Any] = {}
    best_overlap = 0
    for component in verdicts.values():
        overlap = len(set(component) & (criteria | {"score", _MALFORMED}))
        if overlap > best_overlap:
            best, best_overlap = component, overlap
    return best


def _criterion(wanted: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    props = spec.get("properties") or {}
    if "level" in props:
        levels = sorted(props["level"].get("enum") or [0])
        return {"rationale": "simulated", "level": _level(wanted, levels)}
    verdict = "fail" if _is_fail(wanted) else "pass"
    return {"rationale": f"simulated {verdict}", "verdict": verdict}


def _is_fail(wanted: Any) -> bool:
    if isinstance(wanted, bool):
        return not wanted
    return isinstance(wanted, str) and wanted.lower() in FAIL_WORDS


def _level(wanted: Any, levels: list[int]) -> int:
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        return min(levels, key=lambda level: abs(level - wanted))
    return levels[0] if _is_fail(wanted) else levels[-1]


def _holistic(component: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    scale = sorted(spec.get("enum") or [1, 5])
    wanted = component.get("score", "pass")
    return {"rationale": "simulated holistic score", "score": _level(wanted, scale)}

