"""Running the reward server under uvicorn (0.54; ``uvicorn.Config`` / ``uvicorn.Server`` as
documented at https://www.uvicorn.org/settings/).

uvicorn handles ``SIGINT``/``SIGTERM``: it stops accepting connections, lets admitted
requests finish (up to ``graceful_timeout_s``), then runs the app's lifespan shutdown,
which scores the groups still held and closes the pack's judge clients. The server built
here first tells the app that shutdown began (:meth:`RewardServer.begin_shutdown`), so a
client stalled mid-upload gets ``503`` at once instead of holding the shutdown until
uvicorn cancels its task (which ends the log with a ``CancelledError`` traceback).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.serving.app import RewardServer, ServeConfig


def uvicorn_server(reward_server: RewardServer, *, host: str = "127.0.0.1",
                   port: int = 8000, graceful_timeout_s: float = 30.0,
                   log_level: str = "warning", **uvicorn_options: Any) -> Any:
    """A ``uvicorn.Server`` for ``reward_server`` whose shutdown begins with
    :meth:`RewardServer.begin_shutdown`; extra keyword arguments go to ``uvicorn.Config``
    unchanged (e.g. ``fd=`` for a socket inherited from a supervisor)."""
    import uvicorn

    class _Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            reward_server.begin_shutdown()
            await super().shutdown(sockets)

    return _Server(uvicorn.Config(reward_server.app, host=host, port=port,
                                  log_level=log_level, lifespan="on", access_log=False,
                                  timeout_graceful_shutdown=graceful_timeout_s,
                                  **uvicorn_options))


def run(scorer: Scorer, config: ServeConfig, *, host: str = "127.0.0.1", port: int = 8000,
        graceful_timeout_s: float = 30.0, log_level: str = "warning",
        judge_problems: Mapping[str, str] | None = None) -> None:
    """Serve until ``SIGINT``/``SIGTERM``, then shut down gracefully (see module docstring);
    ``judge_problems`` as for :class:`RewardServer`. Raises ``SystemExit`` when uvicorn
    cannot start (e.g. the port is taken)."""
    server = uvicorn_server(RewardServer(scorer, config, judge_problems=judge_problems),
                            host=host, port=port,
                            graceful_timeout_s=graceful_timeout_s, log_level=log_level)
    server.run()
    if not server.started:
        raise SystemExit(f"the server could not start on {host}:{port}")
