"""Estimated cost of a judge call from token counts.

Prices are USD per 1,000 tokens, on-demand, as published for us-east-1 when this table
was written; they are estimates for monitoring, not billing. A pack sets
``price_per_1k_input``/``price_per_1k_output`` to override them or to price a model the
table does not know (unknown models cost 0).
"""

from __future__ import annotations

# Matched by substring against the model id, most specific first, so cross-region
# inference profiles ("us.anthropic...") and version suffixes match too.
KNOWN_PRICES_PER_1K: tuple[tuple[str, float, float], ...] = (
    ("openai.gpt-oss-120b", 0.00015, 0.0006),
    ("openai.gpt-oss-20b", 0.00007, 0.0003),
    ("anthropic.claude-sonnet-4-5", 0.003, 0.015),
    ("anthropic.claude-haiku-4-5", 0.001, 0.005),
    ("anthropic.claude-3-5-haiku", 0.0008, 0.004),
    ("amazon.nova-micro", 0.000035, 0.00014),
    ("amazon.nova-lite", 0.00006, 0.00024),
    ("amazon.nova-pro", 0.0008, 0.0032),
    ("gpt-4o-mini", 0.00015, 0.0006),
    ("gpt-4.1-mini", 0.0004, 0.0016),
)


def prices_for(model: str, per_1k_input: float | None,
               per_1k_output: float | None) -> tuple[float, float]:
    """(input, output) USD per 1k tokens: configured values win over the table."""
    table_in, table_out = 0.0, 0.0
    for fragment, price_in, price_out in KNOWN_PRICES_PER_1K:
        if fragment in model:
            table_in, table_out = price_in, price_out
            break
    return (
        table_in if per_1k_input is None else per_1k_input,
        table_out if per_1k_output is None else per_1k_output,
    )


def estimate_cost(model: str, input_tokens: int, output_tokens: int,
                  per_1k_input: float | None = None, per_1k_output: float | None = None) -> float:
    price_in, price_out = prices_for(model, per_1k_input, per_1k_output)
    return input_tokens / 1000 * price_in + output_tokens / 1000 * price_out
