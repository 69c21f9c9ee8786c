"""The ``rewardsmith`` command: every first-party command, on top of every other layer.

:mod:`.main` holds the group, the exit codes and the entry point; one module per area
(:mod:`.packs`, :mod:`.score`, :mod:`.plugins`, :mod:`.lambda_`, :mod:`.calibrate`,
:mod:`.simulate`, :mod:`.metrics`) holds its click commands, over logic that lives in its
own package.
"""

from rewardsmith.cli.main import (
    EXIT_CHECKS_FAILED,
    EXIT_CONFIG,
    EXIT_JUDGE_UNAVAILABLE,
    EXIT_OK,
    EXIT_SAMPLES_FAILED,
    build_cli,
    main,
)

__all__ = ["EXIT_CHECKS_FAILED", "EXIT_CONFIG", "EXIT_JUDGE_UNAVAILABLE", "EXIT_OK",
           "EXIT_SAMPLES_FAILED", "build_cli", "main"]
