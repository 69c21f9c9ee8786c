"""Values from trainers' data frames made plain at the adapters' edge (case E2)."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from rewardsmith.trainers._common import plain


def test_numpy_values_become_plain_python() -> None:
    value = {"truth": np.array(["a", "b"]), "k": np.float64(0.5), "n": np.int64(3),
             "flag": np.bool_(True), "s": np.str_("x"), 1: (np.float32(0.25),),
             "nested": np.array([{"role": "user", "content": np.str_("q")}], dtype=object),
             "missing": np.float64("nan")}
    out = plain(value)
    assert out == {"truth": ["a", "b"], "k": 0.5, "n": 3, "flag": True, "s": "x",
                   "1": [0.25], "nested": [{"role": "user", "content": "q"}],
                   "missing": None}
    assert type(out["k"]) is float and type(out["n"]) is int and type(out["s"]) is str
    assert type(out["flag"]) is bool
    orjson.dumps(out)  # JSON-clean: no numpy type left


def test_pandas_values_become_plain_python() -> None:
    pd = pytest.importorskip("pandas")
    out = plain({"series": pd.Series([1.5, None]), "na": pd.NA, "nat": pd.NaT,
                 "ts_list": pd.array(["a", None], dtype="string")})
    assert out["series"][0] == 1.5 and out["series"][1] is None
    assert out["na"] is None and out["nat"] is None
    assert out["ts_list"] == ["a", None]


def test_plain_values_pass_through_and_cycles_are_refused() -> None:
    assert plain(["a", 1, 2.5, True, None]) == ["a", 1, 2.5, True, None]
    assert plain(float("inf")) == math.inf
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="deeper than 64"):
        plain(loop)
