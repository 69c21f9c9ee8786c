"""Running the reward handler on this machine (``rewardsmith lambda invoke``): a Lambda
context with a real deadline, and an event read from a file."""

from __future__ import annotations

import os
import time
from typing import Any

from rewardsmith.core.rollouts import loads_json


class LocalContext:
    """A Lambda context with a real deadline, for invoking the handler on this machine."""

    def __init__(self, remaining_ms: int, function_name: str) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000
        self.function_name = function_name
        self.aws_request_id = f"local-{os.getpid()}-{int(time.time() * 1000)}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def read_event(raw: bytes) -> Any:
    """A JSON document (any event shape), or JSON Lines of samples (a rollouts file)."""
    try:
        return loads_json(raw)
    except ValueError:
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) < 2:
            return raw  # the handler reports what is wrong with it
        return [_line_item(line) for line in lines]


def _line_item(line: bytes) -> Any:
    """One JSON Lines item; a line that does not decode stays text, so the handler answers
    it with its own failed row and every other line is scored."""
    try:
        return loads_json(line)
    except ValueError:
        return line.decode("utf-8", errors="replace")
