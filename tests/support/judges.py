"""Support for the judge tests: a real judge backend whose verdicts follow a policy applied to the
request it receives (it reads the data blocks out of the prompt itself), plus helpers to
build hosts, packs and samples.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import orjson

from rewardsmith import load_pack, make_plugin_host
from rewardsmith.core.errors import ComponentError
from rewardsmith.core.hookspecs import hookimpl
from rewardsmith.core.judge import JudgeBackend, JudgeBackendConfig, JudgeReply, JudgeRequest
from rewardsmith.core.pack import Pack
from rewardsmith.plugins import judges

Policy = Callable[[JudgeRequest], Any]

# A pass/fail verdict with a reason: what the backend and simulator tests ask judges for.
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "passed": {"type": "boolean"},
        "reason": {"type": "string", "maxLength": 200},
    },
    "required": ["passed", "reason"],
    "additionalProperties": False,
}

_TOKEN = re.compile(r"\ABoundary token for this request: ([0-9a-f]{16})\n")


def read_blocks(user: str) -> dict[str, str]:
    """The data blocks of a judge user message, parsed independently of the code under test:
    only markers carrying the token announced on the first line count."""
    found = _TOKEN.match(user)
    assert found, f"user message does not announce a boundary token: {user[:80]!r}"
    token = found.group(1)
    pattern = re.compile(
        rf"^<<<DATA-{token}:([\w.-]+)>>>\n(.*?)\n<<<END-DATA-{token}:\1>>>$", re.S | re.M
    )
    return {m.group(1): m.group(2) for m in pattern.finditer(user)}


def boundary_of(user: str) -> str:
    found = _TOKEN.match(user)
    assert found
    return found.group(1)


@dataclass
class Recorder:
    requests: list[JudgeRequest] = field(default_factory=list)


class PolicyJudgeConfig(JudgeBackendConfig):
    backend: Literal["policy"] = "policy"


class PolicyJudge(JudgeBackend):
    """Answers each request with ``policy(request)``; the policy may raise ComponentError.

    Like a careless third-party backend, it does not check its verdict against the
    request's schema: the components must.
    """

    Config = PolicyJudgeConfig
    policy: ClassVar[Policy]
    recorder: ClassVar[Recorder]

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        self.recorder.requests.append(request)
        verdict = type(self).policy(request)
        text = orjson.dumps(verdict).decode()
        prompt_chars = len(request.system) + len(request.user)
        return JudgeReply(text=text, parsed=verdict, input_tokens=prompt_chars // 4,
                          output_tokens=max(1, len(text) // 4), latency_ms=2.0,
                          cost_usd=prompt_chars * 1e-7)


def policy_host(policy: Policy, *, entry_points: bool = False) -> tuple[Any, Recorder]:
    """A plugin host with the judge components and a PolicyJudge answering by ``policy``;
    with ``entry_points``, every installed plugin too (checks, packs, real backends)."""
    recorder = Recorder()
    backend = type("ScriptedPolicyJudge", (PolicyJudge,),
                   {"policy": staticmethod(policy), "recorder": recorder})

    class BackendPlugin:
        @hookimpl
        def register_judge_backends(self, register: Callable[[type[Any]], None]) -> None:
            register(backend)

    plugins: list[tuple[str, object]] = [("policy-judge", BackendPlugin())]
    if not entry_points:
        plugins.append(("judges", judges))
    host = make_plugin_host(load_entry_points=entry_points, plugins=plugins)
    return host, recorder


def write_pack(tmp_path: Path, components: str, *, judge: str = "") -> Path:
    text = textwrap.dedent(f"""\
        [pack]
        name = "judge-test"
        version = "1"

        [judge]
        backend = "policy"
        model = "policy-model"
        {judge}
        """) + textwrap.dedent(components)
    path = tmp_path / "pack.toml"
    path.write_text(text, encoding="utf-8")
    return path


def make_pack(tmp_path: Path, policy: Policy, components: str) -> tuple[Pack, Recorder]:
    host, recorder = policy_host(policy)
    return load_pack(write_pack(tmp_path, components), host), recorder


def sample(response: str, *, prompt: str = "Review the contract.", sid: Any = "s1",
           **extra: Any) -> dict[str, Any]:
    return {"id": sid,
            "messages": [{"role": "user", "content": prompt},
                         {"role": "assistant", "content": response}],
            **extra}


# -- policies ---------------------------------------------------------------------------
def rubric_policy(rules: dict[str, Callable[[str], bool | int]]) -> Policy:
    """Explicit verdicts: each criterion's verdict is its rule applied to the candidate
    block; an int result is a level. Criteria without a rule fail."""

    def policy(request: JudgeRequest) -> dict[str, Any]:
        candidate = read_blocks(request.user)["candidate"]
        assert request.json_schema is not None
        verdict: dict[str, Any] = {}
        for cid in request.json_schema["required"]:
            outcome = rules.get(cid, lambda _text: False)(candidate)
            if isinstance(outcome, bool):
                verdict[cid] = {"rationale": f"rule for {cid} gave {outcome}",
                                "verdict": "pass" if outcome else "fail"}
            else:
                verdict[cid] = {"rationale": f"rule for {cid} gave level {outcome}",
                                "level": outcome}
        return verdict

    return policy


def prefer(key: Callable[[str], float]) -> Policy:
    """Pairwise verdicts: the response with the larger key wins; equal keys tie."""

    def policy(request: JudgeRequest) -> dict[str, Any]:
        blocks = read_blocks(request.user)
        a, b = key(blocks["response_a"]), key(blocks["response_b"])
        winner = "A" if a > b else "B" if b > a else "tie"
        return {"rationale": f"key {a} vs {b}", "winner": winner}

    return policy


def always_first(_request: JudgeRequest) -> dict[str, Any]:
    return {"rationale": "the first one", "winner": "A"}


def failing(kind: str) -> Policy:
    def policy(_request: JudgeRequest) -> Any:
        raise ComponentError(f"simulated backend failure ({kind})", kind=kind)

    return policy


# -- a contract-review judge that follows the pack's rubric mechanically ----------------
_ACTION_VERBS = frozenset({
    "add", "allocate", "allow", "ask", "cap", "change", "counter", "delete", "extend",
    "limit", "link", "make", "move", "narrow", "negotiate", "propose", "provide", "reduce",
    "remove", "replace", "require", "shorten",
})
_MANIPULATION = re.compile(r'"verdict"|ignore the rubric|grader note', re.I)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def contract_review_verdict(user: str) -> dict[str, Any]:
    """Verdicts for the contract-review rubric, computed from the request's data blocks:
    clauses must occur in the `contract` block, overlap a clause of the `reference`
    block without recommending to keep it, and actions must start with a concrete verb.
    Manipulation attempts fail every criterion, as the system prompt says."""
    blocks = read_blocks(user)
    contract = _norm(blocks["contract"])
    reference = [_norm(c["clause"]) for c in orjson.loads(blocks["reference"])["comments"]]
    candidate = blocks["candidate"]
    try:
        comments = orjson.loads(candidate)["comments"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        comments = []
    manipulative = bool(_MANIPULATION.search(candidate))

    def every(rule: Callable[[dict[str, Any]], bool]) -> bool:
        return bool(comments) and not manipulative and all(rule(c) for c in comments)

    def agrees(comment: dict[str, Any]) -> bool:
        clause = _norm(comment["clause"])
        keeps = _norm(comment["recommended_action"]).startswith(("keep", "no change"))
        return not keeps and any(clause in ref or ref in clause for ref in reference)

    def actionable(comment: dict[str, Any]) -> bool:
        words = comment["recommended_action"].split()
        return len(words) >= 3 and words[0].lower() in _ACTION_VERBS

    outcomes = {
        "relies_on_contract": every(lambda c: _norm(c["clause"]) in contract),
        "agrees_with_reference": every(agrees),
        "actionable": every(actionable),
    }
    note = " (manipulation attempt)" if manipulative else ""
    return {cid: {"rationale": f"{cid} checked over {len(comments)} comments{note}",
                  "verdict": "pass" if ok else "fail"} for cid, ok in outcomes.items()}
