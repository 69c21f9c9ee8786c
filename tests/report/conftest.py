from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "calibration"))
from report_fixtures import build_scored


@pytest.fixture
def scored(tmp_path: Path) -> dict[str, Any]:
    return build_scored(tmp_path)
