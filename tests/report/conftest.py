from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.report import build_scored


@pytest.fixture
def scored(tmp_path: Path) -> dict[str, Any]:
    return build_scored(tmp_path)
