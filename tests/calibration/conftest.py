from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import metadata_plugin as fixture_plugin

from rewardsmith import PluginHost, make_plugin_host


@pytest.fixture
def host() -> PluginHost:
    return make_plugin_host(load_entry_points=False, plugins=[("fixture", fixture_plugin)])


@pytest.fixture
def pack_path(tmp_path: Path) -> Path:
    from tests.support.calibration_data import PACK_TOML

    path = tmp_path / "pack.toml"
    path.write_text(PACK_TOML, encoding="utf-8")
    return path


@pytest.fixture
def score_rows(host: PluginHost):
    """Score raw samples with a pack through the real engine; rows as `score` writes."""
    from rewardsmith import Scorer, load_pack

    def score(pack: Path, samples: list) -> list[dict]:
        scorer = Scorer(load_pack(pack, host))
        try:
            return [r.to_json() for r in scorer.score(samples).results]
        finally:
            scorer.close()

    return score
