"""Scored rows for report tests: ok, gated, abstaining, malformed and hostile samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewardsmith import Scorer, load_pack, make_plugin_host
from tests.support import metadata_plugin as fixture_plugin

PACK = """
[pack]
name = "report-demo"
version = "0.3.0"

[[components]]
id = "format_ok"
type = "metadata-score"
gate = { fail_reward = 0.05 }

[[components]]
id = "judge"
type = "metadata-score"
weight = 2
echo_response = true

[[components]]
id = "grounded"
type = "metadata-score"
weight = 1
"""

XSS = ("<script>document.title='PWNED'</script><img src=x "
       "onerror=\"document.title='PWNED'\"> & </td></table><h1>fake</h1>")
USAGE = {"judge_calls": 1, "input_tokens": 120, "output_tokens": 30, "cost_usd": 0.0004,
         "judge_latency_ms": 200.0}


def _sample(i: int, response: str, **scores: float) -> dict[str, Any]:
    return {"id": f"r{i}",
            "messages": [{"role": "user", "content": "Summarise the contract."},
                         {"role": "assistant", "content": response}],
            "metadata": {"scores": scores, "judge_usage": USAGE}}


def build_scored(tmp_path: Path) -> dict[str, Any]:
    """40 scored samples: ok, gated, an abstaining component, one malformed, one hostile."""
    samples: list[Any] = []
    for i in range(36):
        scores = {"format_ok": 0.0 if i % 9 == 4 else 1.0, "judge": (i % 10) / 10 + 0.05}
        if i % 6 != 1:
            scores["grounded"] = ((i * 7) % 11) / 10
        samples.append(_sample(i, f"Summary number {i}.", **scores))
    samples.append(_sample(36, XSS, format_ok=1.0, judge=0.0, grounded=0.0))
    samples.append(_sample(37, "A fine answer.", format_ok=1.0, judge=1.0, grounded=1.0))
    samples.append({"id": "r38", "messages": "not a list"})
    samples.append(_sample(39, "Another.", format_ok=1.0, judge=0.6, grounded=0.9))
    host = make_plugin_host(load_entry_points=False, plugins=[("fixture", fixture_plugin)])
    pack_path = tmp_path / "report-demo.toml"
    pack_path.write_text(PACK, encoding="utf-8")
    pack = load_pack(pack_path, host)
    scorer = Scorer(pack)
    try:
        results = scorer.score(samples).results
    finally:
        scorer.close()
    return {
        "pack_ref": pack.ref.to_json(),
        "rows": [r.to_json() for r in results],
        "responses": {s["id"]: s["messages"][-1]["content"] for s in samples
                      if isinstance(s["messages"], list)},
    }

