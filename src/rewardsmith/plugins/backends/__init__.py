"""Built-in judge backends, registered through rewardsmith's own entry points exactly as a
third-party backend would be (``register_judge_backends``):

``bedrock`` (:mod:`.bedrock`)
    Amazon Bedrock Converse through boto3 — native ``outputConfig`` JSON schema, forced
    tool use or prompted JSON, chosen per model; part of the core install.
``openai`` (:mod:`.openai`)
    any OpenAI-compatible chat-completions server through httpx — the ``openai`` extra.

Shared parts, one job each: :mod:`._base` (``ResilientJudgeBackend``: call telemetry,
the structured-output fallback, the repair turn and the reply, around a subclass's wire
format), :mod:`._resilience` (concurrency limit, retries with full jitter, per-attempt
timeout, circuit breaker, the settings for them), :mod:`._verdict` (verdict extraction,
schema validation, the repair message), :mod:`._pricing` (token cost estimates).
De-duplication and the persistent cache wrap every backend in
:mod:`rewardsmith.core.judge_cache`; the contract and error kinds are in
:mod:`rewardsmith.core.judging`.

A pack configures a backend in its ``[judge]`` table (a component may override keys)::

    [judge]
    backend = "bedrock"
    model = "openai.gpt-oss-120b-1:0"
    max_concurrency = 100
    timeout_s = 60
    additional_model_request_fields = { reasoning_effort = "low" }
"""
