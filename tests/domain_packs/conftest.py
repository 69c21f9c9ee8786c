"""The domain-pack tests share suite_support (suite reading, the verdict book, expectation
checks); put this folder on the path the way tests/judges does for its helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
