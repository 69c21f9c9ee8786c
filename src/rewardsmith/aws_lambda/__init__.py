"""The reward Lambda: ``rewardsmith.aws_lambda.handler`` (alias ``lambda_handler``) for
Amazon Nova RFT (SageMaker AI, Nova Forge) and Bedrock RFT; ``make_handler`` for your own.

- :mod:`.runtime`: the handler, its time budget and watchdog, the module-level handler;
- :mod:`.events`: the event shapes accepted;
- :mod:`.observability`: the per-invocation log line and EMF metrics (secrets redacted by
  the one logging set-up, :mod:`rewardsmith.core.logs`);
- :mod:`.local`: a Lambda context with a real deadline, for ``rewardsmith lambda invoke``;
- :mod:`.package`: the deployment zip and SAM template (``rewardsmith lambda package``).

Importing this package costs the core only: click and the CLI are never imported.

The cyclic GC is paused while the package is imported, and what is alive at the end is
frozen (``gc.freeze``), once per process (issue 13): the ~35 young-generation collections
of this import (~6 ms of CPU in a cold start, on the thread that imports) walked modules,
classes and functions that live as long as the process. The import's own cyclic garbage
(~600 objects, ~130 KB shallow: class-building temporaries) is frozen with them; re-enabling
the collector instead would walk all ~30,000 young objects in one collection, which costs
more than the pause saves. The first pack load then pauses the collector again until it
freezes the init heap (``runtime._collector_paused_until_frozen``).
"""

import gc as _gc

_collecting = _gc.isenabled()
_gc.disable()
try:
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
finally:
    if _collecting:  # an application that turned the collector off keeps it off
        _gc.freeze()
        _gc.enable()

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
