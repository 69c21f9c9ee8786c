"""The verifiers adapter inside verifiers itself: score the support-agent example
trajectories with ``pack_rubric(...)`` through ``vf.Rubric.score_group`` and compare each
reward with the row ``rewardsmith score`` writes for the same sample.

Needs the classic verifiers (``pip install 'verifiers<0.4'`` next to rewardsmith); the
judge-free child pack keeps the run offline. Usage::

    python bench/verifiers_rubric.py [PACK] [ROLLOUTS]
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    pack = sys.argv[1] if len(sys.argv) > 1 else str(
        ROOT / "examples" / "agents" / "support-agent-checks.toml")
    rollouts = Path(sys.argv[2] if len(sys.argv) > 2 else
                    ROOT / "examples" / "rollouts" / "support-agent.jsonl")
    import verifiers as vf

    from rewardsmith.trainers.verifiers import pack_rubric

    samples = [json.loads(line) for line in rollouts.read_text().splitlines() if line.strip()]
    # exit code 3: some rows failed (the malformed trajectory, on purpose)
    out = subprocess.run([str(Path(sys.executable).parent / "rewardsmith"), "score",
                          str(rollouts), "--pack", pack, "--no-summary"],
                         capture_output=True, text=True, check=False)
    if out.returncode not in (0, 3):
        raise SystemExit(out.stderr)
    expected = {r["id"]: r["aggregate_reward_score"]
                for r in map(json.loads, out.stdout.splitlines())}
    states = []
    for s in samples:
        if "messages" not in s:  # Responses input/output: verifiers speaks chat messages
            continue
        messages = s["messages"]
        first = next((i for i, m in enumerate(messages)
                      if isinstance(m, dict) and m.get("role") == "assistant"), len(messages))
        states.append({"id": s["id"], "prompt": messages[:first],
                       "completion": messages[first:],
                       "answer": s.get("reference_answer", ""),
                       "info": {"oai_tools": s.get("tools", [])},
                       "final_state": s.get("final_state"), "trajectory": []})
    rubric = pack_rubric(pack)
    try:
        asyncio.run(rubric.score_group(states))
    finally:
        rubric.rewardsmith.close()
    print(f"verifiers {version('verifiers')} ({vf.Rubric.__module__}.Rubric), pack {pack}")
    print(f"{'id':34} {'rubric':>8} {'score':>8}")
    worst = 0.0
    for state in states:
        want = expected[state["id"]]
        worst = max(worst, abs(state["reward"] - want))
        print(f"{state['id']:34} {state['reward']:8.4f} {want:8.4f}")
    print(f"{len(states)} trajectories; largest |rubric - score| = {worst:.2e}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
