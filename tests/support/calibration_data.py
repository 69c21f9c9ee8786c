"""A synthetic calibration dataset whose outcome comes from known component weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

TRUE_WEIGHTS = {"helpful": 0.5, "grounded": 0.3, "concise": 0.15, "polite": 0.05}
PACK_TOML = """
[pack]
name = "synthetic"
version = "1.2.0"
description = "four components whose values come from sample metadata"

[[components]]
id = "helpful"
type = "metadata-score"
weight = 1

[[components]]
id = "grounded"
type = "metadata-score"
weight = 1

[[components]]
id = "concise"
type = "metadata-score"
weight = 1

[[components]]
id = "polite"
type = "metadata-score"
weight = 1
"""


@dataclass
class Synthetic:
    values: dict[str, np.ndarray]
    noiseless: np.ndarray  # Σ w_i c_i, before scale, offset and noise
    outcome: np.ndarray

    def samples(self) -> list[dict[str, Any]]:
        return [
            {"id": f"s{i}",
             "messages": [{"role": "user", "content": "q"},
                          {"role": "assistant", "content": f"answer {i}"}],
             "metadata": {"scores": {c: float(v[i]) for c, v in self.values.items()}}}
            for i in range(len(self.outcome))
        ]

    def write_outcomes(self, path: Path, ids: range | None = None) -> Path:
        ids = ids if ids is not None else range(len(self.outcome))
        path.write_bytes(b"".join(orjson.dumps({"id": f"s{i}", "outcome": float(self.outcome[i])})
                                  + b"\n" for i in ids))
        return path


def make_synthetic(n: int = 2000, seed: int = 0, noise: float = 0.05) -> Synthetic:
    """Outcome = 2 + 3·Σ w_i c_i + N(0, noise²): an offset and scale the fit must ignore."""
    rng = np.random.default_rng(seed)
    values = {
        "helpful": rng.beta(2, 2, n),
        "grounded": rng.uniform(0, 1, n),
        "concise": rng.binomial(1, 0.6, n).astype(float),
        "polite": np.clip(rng.normal(0.7, 0.2, n), 0, 1),
    }
    noiseless = sum(TRUE_WEIGHTS[c] * v for c, v in values.items())
    outcome = 2.0 + 3.0 * noiseless + rng.normal(0, noise, n)
    return Synthetic(values, noiseless, outcome)
