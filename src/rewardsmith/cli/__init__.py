"""The ``rewardsmith`` command: every first-party command, on top of every other layer."""

from rewardsmith.cli.main import EXIT_CONFIG, EXIT_OK, EXIT_SAMPLES_FAILED, build_cli, cli, main

__all__ = ["EXIT_CONFIG", "EXIT_OK", "EXIT_SAMPLES_FAILED", "build_cli", "cli", "main"]
