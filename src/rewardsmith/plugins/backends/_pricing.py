"""Estimated cost of a judge call from token counts.

Prices are USD per 1,000 tokens, on-demand, as published for us-east-1 when this table
was written (https://aws.amazon.com/bedrock/pricing/, the Bedrock model ids of
https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html); they are
estimates for monitoring, not billing. A pack sets ``price_per_1k_input``/
``price_per_1k_output`` to override them or to price a model the table does not know.

A model the table does not know and the pack does not price is counted at $0, and said
once per batch and model in the judge notices; a ``usd`` budget on such a model fails the
pack at load (``plugins/judges/budget.py``), since it could never limit anything.
"""

from __future__ import annotations

from rewardsmith.core.telemetry import current_telemetry

# Matched by substring against the model id, most specific first, so geographic and global
# cross-region inference profiles ("us.", "eu.", "apac.", "global." + the id), inference
# profile ARNs and version suffixes ("-v1:0") match too. A second generation is its own
# entry: "amazon.nova-2-lite" is not "amazon.nova-lite".
KNOWN_PRICES_PER_1K: tuple[tuple[str, float, float], ...] = (
    ("openai.gpt-oss-120b", 0.00015, 0.0006),
    ("openai.gpt-oss-20b", 0.00007, 0.0003),
    ("anthropic.claude-sonnet-4-5", 0.003, 0.015),
    ("anthropic.claude-haiku-4-5", 0.001, 0.005),
    ("anthropic.claude-3-5-haiku", 0.0008, 0.004),
    ("amazon.nova-2-lite", 0.0003, 0.0025),
    ("amazon.nova-premier", 0.0025, 0.0125),
    ("amazon.nova-micro", 0.000035, 0.00014),
    ("amazon.nova-lite", 0.00006, 0.00024),
    ("amazon.nova-pro", 0.0008, 0.0032),
    ("gpt-4o-mini", 0.00015, 0.0006),
    ("gpt-4.1-mini", 0.0004, 0.0016),
)

PRICE_SETTINGS = ("price_per_1k_input", "price_per_1k_output")


def table_prices(model: str) -> tuple[float, float] | None:
    """(input, output) USD per 1k tokens from the table, or None for a model it does not
    know."""
    for fragment, price_in, price_out in KNOWN_PRICES_PER_1K:
        if fragment in model:
            return price_in, price_out
    return None


def prices_for(model: str, per_1k_input: float | None,
               per_1k_output: float | None) -> tuple[float, float]:
    """(input, output) USD per 1k tokens: configured values win over the table (an unknown
    model's unconfigured price is 0)."""
    table_in, table_out = table_prices(model) or (0.0, 0.0)
    return (
        table_in if per_1k_input is None else per_1k_input,
        table_out if per_1k_output is None else per_1k_output,
    )


def unpriced_settings(model: str, per_1k_input: float | None,
                      per_1k_output: float | None) -> list[str]:
    """The ``price_per_1k_*`` settings a model the table does not know still needs (empty
    when its calls can be priced)."""
    if table_prices(model) is not None:
        return []
    return [name for name, value in zip(PRICE_SETTINGS, (per_1k_input, per_1k_output),
                                        strict=True) if value is None]


def estimate_cost(model: str, input_tokens: int, output_tokens: int,
                  per_1k_input: float | None = None, per_1k_output: float | None = None) -> float:
    """USD for the tokens (see :func:`prices_for`). Tokens of a model with no price are
    counted at $0 and said once per batch and model in the judge notices, so a cost of 0
    is never taken for a free judge."""
    price_in, price_out = prices_for(model, per_1k_input, per_1k_output)
    if (input_tokens or output_tokens) and unpriced_settings(model, per_1k_input,
                                                             per_1k_output):
        current_telemetry().record_judge_notice(
            f"price:{model}",
            f"judge model {model!r} has no known price (not in the price table, and "
            f"price_per_1k_input / price_per_1k_output not both set): its calls count "
            f"$0 in cost_usd; set both in the [judge] table to price them")
    return input_tokens / 1000 * price_in + output_tokens / 1000 * price_out
