"""Support for tests of judges that call more than one model (cascades, juries, listwise,
budgets): a pack pointed at a simulator, verdict policies that answer per model, and
counts of the calls each model received."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardsmith import load_pack
from rewardsmith.core.pack import Pack
from rewardsmith.simulators.faults import VerdictRequest
from tests.support.judges import read_blocks

#: candidate text -> {criterion id: passed} for one model.
Rule = Callable[[str], dict[str, bool]]


def sim_pack(tmp_path: Path, settings: dict[str, Any], components: str,
             name: str = "pack.toml") -> Pack:
    """A pack whose [judge] table is ``settings`` (a simulator's) plus ``components``."""
    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    path = tmp_path / name
    path.write_text("[pack]\nname = \"multi-judge\"\nversion = \"1\"\n\n[judge]\n" + table
                    + "\n" + textwrap.dedent(components), encoding="utf-8")
    return load_pack(path)


def calls_per_model(sim: Any) -> Counter[str]:
    """How many requests each model received (what the server saw, not what we think)."""
    return Counter(str(r.model) for r in sim.requests)


def per_model(rules: dict[str, Rule]) -> Callable[[VerdictRequest], dict[str, Any]]:
    """A simulator policy answering explicit rubric requests: model ``m`` passes each
    criterion as ``rules[m](candidate)`` says; criteria it does not name fail."""

    def policy(request: VerdictRequest) -> dict[str, Any]:
        candidate = read_blocks(request.last_user_text)["candidate"]
        outcome = rules[request.model](candidate)
        assert request.schema is not None
        return {cid: {"rationale": f"{request.model} on {cid}",
                      "verdict": "pass" if outcome.get(cid, False) else "fail"}
                for cid in request.schema["required"]}

    return policy


def passes_listed(candidate: str) -> dict[str, bool]:
    """The criteria whose ids the candidate lists after 'ok:' pass (``ok: a b``)."""
    listed = candidate.split("ok:", 1)[1].split() if "ok:" in candidate else []
    return dict.fromkeys(listed, True)


def sample(response: str, sid: str, prompt: str = "Review clause 7.", **extra: Any
           ) -> dict[str, Any]:
    return {"id": sid, "messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": response}], **extra}


def named_in(model: str) -> Rule:
    """Criterion ``ok`` passes when ``model``'s name is a word of the candidate."""
    return lambda candidate: {"ok": model in candidate.split()}
