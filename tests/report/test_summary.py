"""The streaming run summary (issue 13): the same table as the one built from every result,
without keeping the results."""

from __future__ import annotations

import math
from pathlib import Path

from tests.support.report import PACK, _sample, fixture_plugin

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import load_pack
from rewardsmith.core.plugins import make_plugin_host
from rewardsmith.report.summary import RunSummary, component_stats, summary_table


def test_the_streaming_summary_is_the_table_of_all_results(tmp_path: Path) -> None:
    samples = [_sample(i, f"Answer {i}.", format_ok=0.0 if i % 9 == 4 else 1.0,
                       judge=(i % 10) / 10 + 0.05, **({"grounded": (i % 11) / 10}
                                                       if i % 6 != 1 else {}))
               for i in range(60)]
    samples.append({"id": "bad", "messages": "not a list"})
    path = tmp_path / "pack.toml"
    path.write_text(PACK, encoding="utf-8")
    host = make_plugin_host(load_entry_points=False, plugins=[("fixture", fixture_plugin)])
    pack = load_pack(path, host)
    scorer = Scorer(pack)
    try:
        batches = [scorer.score(samples[i:i + 7]).results for i in range(0, len(samples), 7)]
    finally:
        scorer.close()
    results = [r for batch in batches for r in batch]
    run = RunSummary()
    for batch in batches:
        run.add_all(batch)
    assert run.table(pack) == summary_table(pack, results)
    assert len(run.rewards) == 61 and run.statuses["failed"] >= 1
    expected = component_stats(results)
    got = run.component_stats()
    assert got.keys() == expected.keys()
    for cid, stats in expected.items():
        for key, value in stats.items():
            assert math.isclose(got[cid][key], value, abs_tol=1e-12) or \
                (math.isnan(value) and math.isnan(got[cid][key])), (cid, key)
