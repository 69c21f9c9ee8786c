"""What every trainer adapter shares: a scorer from a pack name, path, Pack or Scorer."""

from __future__ import annotations

from rewardsmith.core.engine import Scorer
from rewardsmith.core.pack import Pack, load_pack
from rewardsmith.core.plugins import PluginHost


def scorer_for(pack: str | Pack | Scorer, host: PluginHost | None) -> Scorer:
    """``pack`` as a :class:`Scorer`: a Scorer as is, a Pack wrapped, a name or path loaded
    with ``host`` (or the installed plugins); raises what :func:`load_pack` raises."""
    if isinstance(pack, Scorer):
        return pack
    return Scorer(pack if isinstance(pack, Pack) else load_pack(pack, host))
