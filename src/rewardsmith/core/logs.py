"""The one structlog set-up. Library code only calls ``structlog.get_logger``; entry points
(CLI, Lambda) call :func:`configure_logging` to decide where logs go and at what level.

Behaviour is composed from one processor list (:func:`processors`, after structlog's
``_config``): level, UTC timestamp, secret redaction, renderer. Redaction is a processor
in that list, so no configuration writes an unredacted line. Logs never carry sample text
by default.
"""

from __future__ import annotations

import json as jsonlib
import logging
import math
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog

from rewardsmith.core import settings

REDACTED = "[REDACTED]"

# -- secret redaction ---------------------------------------------------------------------
_SECRET_NAME_RE = re.compile(
    r"SECRET|TOKEN|PASSW(OR)?D|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|AUTH|SESSION",
    re.IGNORECASE,
)
_SECRET_VALUE_RES = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style API keys
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}"),
)


#: Values of pack-named secret variables read through ``core.trust.read_secret``, whatever
#: the variable's name (``METRICS_HDR`` does not look secret but its value is).
_REMEMBERED: set[str] = set()
_MIN_SECRET_CHARS = 8


def remember_secret(value: str) -> None:
    """Mask ``value`` at every sink from now on (it was read for a header or an API key)."""
    if len(value) >= _MIN_SECRET_CHARS:
        _REMEMBERED.add(value)


class SecretRedactor:
    """A structlog processor that removes secrets from every string in the event dict.

    It snapshots the values of secret-looking environment variables (``*SECRET*``,
    ``*TOKEN*``, ``*API_KEY*`` …; in Lambda that includes ``AWS_SECRET_ACCESS_KEY`` and
    ``AWS_SESSION_TOKEN``) and also masks well-known key shapes.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, *, min_length: int = 8) -> None:
        # The environment handed to us is a snapshot of secrets to hide, not a setting.
        env = settings.environment(environ)
        values = {v for k, v in env.items() if _SECRET_NAME_RE.search(k) and len(v) >= min_length}
        # Longest first, so a secret that contains another is masked whole.
        self._values = sorted(values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        extra = [v for v in _REMEMBERED if v not in self._values]
        for value in (sorted(extra, key=len, reverse=True) if extra else ()):
            if value in text:
                text = text.replace(value, REDACTED)
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _SECRET_VALUE_RES:
            text = pattern.sub(REDACTED, text)
        return text

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.scrub(str(k)): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        return {key: self.scrub(value) for key, value in event_dict.items()}


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with secrets masked, for sinks outside logging: error fields carrying a
    server's text, results rows, the HTML report. Same rules as :class:`SecretRedactor`."""
    return SecretRedactor(environ).redact(text)


# -- rendering ----------------------------------------------------------------------------
def _json_default(value: Any) -> str:
    return f"<{type(value).__name__}>"


def render_json(_: Any, __: str, event_dict: Any) -> str:
    """One JSON line per event; a non-finite float is written as its repr (JSON has none),
    an unserialisable value as ``<TypeName>``."""
    cleaned = {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in event_dict.items()}
    return jsonlib.dumps(cleaned, default=_json_default, ensure_ascii=False)


def processors(*, json: bool = True,
               redactor: SecretRedactor | None = None) -> list[structlog.typing.Processor]:
    """The one processor list: level, UTC timestamp, secret redaction, renderer.

    ``redactor`` defaults to one built from the current environment; ``json`` picks JSON
    lines (Lambda, ``--log-json``) over structlog's plain console renderer.
    """
    renderer: structlog.typing.Processor = (
        render_json if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redactor or SecretRedactor(),
        renderer,
    ]


def _level(level: str) -> int:
    levels = logging.getLevelNamesMapping()
    try:
        return levels[level.strip().upper()]
    except KeyError:
        raise ValueError(f"log level {level!r} is not one of "
                         f"{sorted(k.lower() for k in levels)}") from None


def configure_logging(*, level: str = "warning", json: bool = False,
                      stream: TextIO | None = None,
                      redactor: SecretRedactor | None = None) -> None:
    """Route structlog through :func:`processors` to ``stream`` (stderr by default, keeping
    stdout for results; the Lambda passes stdout, which CloudWatch captures).

    Raises:
        ValueError: ``level`` is not a :mod:`logging` level name.
    """
    structlog.configure(
        processors=processors(json=json, redactor=redactor),
        wrapper_class=structlog.make_filtering_bound_logger(_level(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def make_logger(stream: TextIO | None = None, redactor: SecretRedactor | None = None) -> Any:
    """A JSON-lines logger on ``stream`` (stdout) independent of the global configuration
    and level, built from the same processor list, for lines that must always be written
    (the Lambda's per-invocation record)."""
    return structlog.wrap_logger(
        structlog.PrintLogger(stream or sys.stdout),
        processors=processors(json=True, redactor=redactor),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )


class _LibraryLogger:
    """A structlog logger that is quiet (warnings and errors only, on stderr) until an
    application configures structlog, then follows that configuration.

    structlog's unconfigured default prints every level to stdout, so a notebook or a
    trainer calling ``Scorer.score`` in a loop would get an info line per call (issue 15).
    Entry points (CLI, Lambda) call :func:`configure_logging`; library code logs through
    :func:`library_logger` and never configures structlog globally.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._quiet: Any = None

    def _target(self) -> Any:
        if structlog.is_configured():
            return structlog.get_logger(self._name)
        if self._quiet is None:
            self._quiet = structlog.wrap_logger(
                structlog.PrintLogger(sys.stderr),
                processors=processors(json=False),
                wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
            )
        return self._quiet

    def __getattr__(self, method: str) -> Any:
        return getattr(self._target(), method)


def library_logger(name: str) -> Any:
    """The logger library modules use: see :class:`_LibraryLogger` (quiet by default)."""
    return _LibraryLogger(name)
