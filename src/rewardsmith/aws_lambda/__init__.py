"""The reward Lambda: ``rewardsmith.aws_lambda.handler`` (alias ``lambda_handler``) for
Amazon Nova RFT (SageMaker AI, Nova Forge) and Bedrock RFT; ``make_handler`` for your own.

- :mod:`.runtime`: the handler, its time budget and watchdog, the module-level handler;
- :mod:`.events`: the event shapes accepted;
- :mod:`.observability`: the per-invocation log line and EMF metrics (secrets redacted by
  the one logging set-up, :mod:`rewardsmith.core.logs`);
- :mod:`.local`: a Lambda context with a real deadline, for ``rewardsmith lambda invoke``;
- :mod:`.package`: the deployment zip and SAM template (``rewardsmith lambda package``).

Importing this package costs the core only: click and the CLI are never imported.
"""

from rewardsmith.aws_lambda.events import ExtractedEvent, extract_samples
from rewardsmith.aws_lambda.runtime import (
    PACK_ENV,
    HandlerSettings,
    InvocationBudget,
    PackUnavailable,
    RewardHandler,
    default_handler,
    handler,
    lambda_handler,
    make_handler,
    remaining_seconds,
    warm,
)

__all__ = [
    "PACK_ENV",
    "ExtractedEvent",
    "HandlerSettings",
    "InvocationBudget",
    "PackUnavailable",
    "RewardHandler",
    "default_handler",
    "extract_samples",
    "handler",
    "lambda_handler",
    "make_handler",
    "remaining_seconds",
    "warm",
]
