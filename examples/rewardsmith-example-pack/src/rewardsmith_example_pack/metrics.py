"""Product-metric functions this distribution registers (``register_metric_functions``).

A pack names them (``source = { kind = "function", ref = "read_seconds" }``); the code
lives here, in an installed package, never in the pack file.
"""

from __future__ import annotations

from rewardsmith import Sample

# Typical silent reading speed of adult readers on screen, words per minute.
READING_WORDS_PER_MINUTE = 238


def estimated_read_seconds(sample: Sample) -> float:
    """Seconds a customer needs to read the answer: the proxy our support team tracks for
    'time to first action'.
    """
    words = len(sample.response.split())
    return words * 60 / READING_WORDS_PER_MINUTE
