"""The one logging set-up: redaction is a processor in the one list, whatever the format."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from rewardsmith.core.logs import REDACTED, SecretRedactor, configure_logging, make_logger


@pytest.fixture(autouse=True)
def _restore_structlog():
    yield
    structlog.reset_defaults()


@pytest.mark.parametrize("as_json", [True, False])
def test_configured_logging_redacts_secrets(as_json: bool) -> None:
    stream = io.StringIO()
    redactor = SecretRedactor({"ACME_API_KEY": "hunter2-very-secret"})
    configure_logging(level="info", json=as_json, stream=stream, redactor=redactor)
    structlog.get_logger("t").info("call", error="401 for key hunter2-very-secret",
                                   header="Bearer abcdefghijklmnop")
    structlog.get_logger("t").debug("hidden")
    out = stream.getvalue()
    assert "hunter2-very-secret" not in out and "abcdefghijklmnop" not in out
    assert out.count(REDACTED) == 2 and "hidden" not in out
    if as_json:
        assert json.loads(out)["level"] == "info"


def test_make_logger_writes_one_redacted_json_line_at_any_level() -> None:
    stream = io.StringIO()
    configure_logging(level="error", stream=io.StringIO())
    make_logger(stream, SecretRedactor({})).info("invocation", key="sk-" + "a" * 20,
                                                 ratio=float("nan"))
    line = json.loads(stream.getvalue())
    assert line["key"] == REDACTED and line["ratio"] == "nan"


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="log level 'loud'"):
        configure_logging(level="loud")
