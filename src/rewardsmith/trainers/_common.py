"""What every trainer adapter shares: a scorer from a pack spec, values normalised at the
edge (numpy / pandas / pyarrow values as plain Python), the per-component row of a result."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack, load_pack
from rewardsmith.core.plugins import PluginHost
from rewardsmith.core.results import SampleResult

PackSpec = str | os.PathLike[str]

# Type names of the "missing" markers of pandas (pd.NA, pd.NaT) and numpy datetime NaT, read by
# name so this module imports neither library.
_MISSING_TYPES = frozenset({"NAType", "NaTType"})
_MAX_DEPTH = 64


def scorer_for(pack: PackSpec | Pack | Scorer, host: PluginHost | None) -> Scorer:
    """``pack`` as a :class:`Scorer`: a Scorer as is, a Pack wrapped, a name or path loaded
    with ``host`` (or the installed plugins); raises what :func:`load_pack` raises."""
    if isinstance(pack, Scorer):
        return pack
    if isinstance(pack, Pack):
        return Scorer(pack)
    return Scorer(load_pack(os.fspath(pack), host))


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` with every numpy / pandas / pyarrow container or scalar turned into the
    plain Python value a JSON sample holds: arrays and Series become lists (via
    ``tolist()``), numpy scalars become ``int`` / ``float`` / ``str`` / ``bool`` (via
    ``item()``), mappings become dicts with ``str`` keys, tuples and sets become lists, and
    the missing markers (``NaN``, ``pd.NA``, ``NaT``) become ``None``.

    Trainers read datasets through pandas / pyarrow (verl's ``non_tensor_batch`` holds numpy
    object arrays), so a ground truth ``numpy.array(["a", "b"])`` must score like
    ``["a", "b"]`` (case E2 in ``shared/cases/real-world-1.md``).

    Raises ``ValueError`` for nesting deeper than 64 levels (a cyclic structure).
    """
    if _depth > _MAX_DEPTH:
        raise ValueError("value nested deeper than 64 levels (a cycle?)")
    if value is None or type(value) in (str, bool, int):
        return value
    # numpy.float64 and numpy.str_ subclass float and str: plain types keep orjson and
    # equality checks in components from seeing a numpy type.
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):  # a bool or int subclass (an IntEnum keeps its int value)
        return bool(value) if isinstance(value, bool) else int(value)
    if type(value).__name__ in _MISSING_TYPES:
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, _depth + 1) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays/scalars, Series
        return plain(value.tolist(), _depth + 1)
    if hasattr(value, "to_pylist") and callable(value.to_pylist):  # pyarrow arrays
        return plain(value.to_pylist(), _depth + 1)
    if hasattr(value, "as_py") and callable(value.as_py):  # pyarrow scalars
        return plain(value.as_py(), _depth + 1)
    return value


def component_ids(scorer: Scorer) -> list[str]:
    """The pack's component ids, in pack order (the keys of every per-component row)."""
    return [c.config.id for c in scorer.pack.components]


def reward_component_ids(scorer: Scorer) -> list[str]:
    """The ids of the components that weigh in the reward (not gates, weight > 0): the
    per-component rewards for GDPO / ``normalize_then_sum``."""
    return [c.config.id for c in scorer.pack.components
            if c.config.gate is None and c.config.effective_weight > 0]


def component_values(result: SampleResult, ids: list[str]) -> dict[str, float | None]:
    """Each of ``ids`` with its value for ``result``, ``None`` when the component did not
    give one (skipped after a failed gate, abstained, failed, or the sample failed). A
    failed component's policy value (``on_error = "zero"``) counts in the reward but is no
    measurement: it is ``None`` here, so it never reads as a real 0 in the logs."""
    out: dict[str, float | None] = {}
    for cid in ids:
        outcome = result.components.get(cid)
        out[cid] = None if outcome is None or outcome.error_kind is not None else outcome.value
    return out
