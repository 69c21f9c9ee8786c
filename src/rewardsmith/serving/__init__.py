"""An HTTP reward server for trainers that take rewards over HTTP (OpenRLHF, slime/miles,
NeMo Gym) and a local stand-in for the reward Lambda: ``rewardsmith serve PACK``.

Needs the ``serve`` extra (``pip install 'rewardsmith[serve]'``: Starlette, uvicorn,
prometheus-client); nothing here is imported by the rest of rewardsmith. Protocols and
settings: ``docs/serve.md``.

- :mod:`.protocols`  request -> samples, results -> answer, per trainer (pure functions)
- :mod:`.service`    scoring on a loop of its own, deadlines, group coalescing
- :mod:`.metrics`    the Prometheus metrics
- :mod:`.app`        the Starlette app: admission, size cap, auth, routes, health
- :mod:`.server`     running it under uvicorn with graceful shutdown
"""

from __future__ import annotations

from typing import Any

__all__ = ["RewardServer", "ServeConfig", "create_app", "run"]


def __getattr__(name: str) -> Any:
    # Lazy: importing rewardsmith.serving must not need the extra until it is used.
    if name in ("RewardServer", "ServeConfig", "create_app"):
        from rewardsmith.serving import app

        return getattr(app, name)
    if name == "run":
        from rewardsmith.serving.server import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
