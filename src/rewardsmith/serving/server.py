"""Running the reward server under uvicorn (0.54; ``uvicorn.Config`` / ``uvicorn.Server`` as
documented at https://www.uvicorn.org/settings/).

uvicorn handles ``SIGINT``/``SIGTERM``: it stops accepting connections, lets admitted
requests finish (up to ``graceful_timeout_s``), then runs the app's lifespan shutdown,
which scores the groups still held and closes the pack's judge clients.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.core.engine import Scorer
from rewardsmith.serving.app import ServeConfig, create_app


def uvicorn_config(scorer: Scorer, config: ServeConfig, *, host: str = "127.0.0.1",
                   port: int = 8000, graceful_timeout_s: float = 30.0,
                   log_level: str = "warning", **uvicorn_options: Any) -> Any:
    """A ``uvicorn.Config`` for the app serving ``scorer``; extra keyword arguments go to
    uvicorn unchanged (e.g. ``fd=`` for a socket inherited from a supervisor)."""
    import uvicorn

    return uvicorn.Config(create_app(scorer, config), host=host, port=port,
                          log_level=log_level, lifespan="on", access_log=False,
                          timeout_graceful_shutdown=graceful_timeout_s, **uvicorn_options)


def run(scorer: Scorer, config: ServeConfig, *, host: str = "127.0.0.1", port: int = 8000,
        graceful_timeout_s: float = 30.0, log_level: str = "warning") -> None:
    """Serve until ``SIGINT``/``SIGTERM``, then shut down gracefully (see module docstring).
    Raises ``SystemExit`` when uvicorn cannot start (e.g. the port is taken)."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(scorer, config, host=host, port=port,
                                           graceful_timeout_s=graceful_timeout_s,
                                           log_level=log_level))
    server.run()
    if not server.started:
        raise SystemExit(f"the server could not start on {host}:{port}")
