"""The wire protocols ``rewardsmith serve`` speaks: trainer requests -> wire samples, and
scored results -> each trainer's answer.

Pure functions (no HTTP, no scoring), so every shape is testable on its own. A request
whose *shape* is wrong raises :class:`RequestError` (the server answers 4xx naming what and
where); one bad *item* inside a well-formed batch becomes a :class:`SampleError` item, which
the engine turns into a failed result for that item alone.

Protocols, each read from the peer's own source:

* **OpenRLHF** ``POST /get_reward`` — OpenRLHF 0.11.0 (``openrlhf/utils/agent.py``,
  ``SingleTurnAgentExecutor._fetch_rewards_via_http``) posts
  ``{"query": [str], "prompts": [str], "labels": [any]}`` with one sample per request,
  ``query`` being the decoded prompt + response with special tokens kept; it reads
  ``rewards`` (advantages), ``scores`` (``[0, 1]``, dynamic filtering) and ``extra_logs``
  (``{name: [number per sample]}``, logged to wandb), as ``openrlhf/cli/serve_rm.py``
  answers them. Older versions post ``{"query": [...]}`` alone
  (``openrlhf/utils/remote_rm_utils.py``), split after the chat template's assistant header
  (:func:`split_templated_query`) or refused item by item.
* **slime / miles** ``POST /slime`` (alias ``/miles``) — slime ``slime/rollout/rm_hub/
  __init__.py`` (``remote_rm``) posts ``{"prompt", "response", "label"}`` for one sample and
  uses the JSON answer as ``sample.reward``; ``Sample.get_reward_value`` reads it whole, or
  ``reward[args.reward_key]`` when ``--reward-key`` is set (``slime/utils/types.py``). The
  default answer is an object (``--reward-key reward``; GDPO keys are the component ids);
  ``?reply=number`` answers the bare number.
* **NeMo Gym** ``POST /verify`` — NVIDIA-NeMo/Gym ``nemo_gym/base_resources_server.py``:
  ``BaseVerifyRequest`` is ``{"responses_create_params": {...}, "response": {...}}`` (OpenAI
  Responses create params and response) plus the task's own fields; ``BaseVerifyResponse``
  echoes the request and adds ``reward`` (``BaseMultiRewardVerifyResponse``:
  ``reward_components``), ``mask_sample``, ``failure_kind`` and ``failure_reason``
  (vocabulary of ``nemo_gym/failure_kinds.py``: ``judge_failed``, ``verifier_error``).
  A multi-step rollout arrives as one response whose ``output`` holds every step's items
  in order — the model's ``reasoning`` / ``function_call`` / ``message`` items, and the
  ``function_call_output`` items the agent added after running each call (NeMo Gym v0.5.0
  ``responses_api_agents/simple_agent/app.py``, ``SimpleAgent.responses``: ``new_outputs``;
  item models ``NeMoGymResponseFunctionToolCall``, ``NeMoGymFunctionCallOutput``,
  ``NeMoGymResponseOutputMessage`` in ``nemo_gym/openai_utils.py``). Such a rollout is
  scored as a trajectory and its per-turn vector answered under ``turn_rewards``
  (``SimpleAgentVerifyResponse`` is ``extra="allow"``, so the key reaches the rollout).
* **Reward Lambda** ``POST /v1/score`` — the event shapes of
  :func:`rewardsmith.core.events.extract_samples`, answered with
  :func:`rewardsmith.core.wire.lambda_row` per sample, as the Lambda handler does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rewardsmith.core.errors import ErrorKind, RewardsmithError, SampleError
from rewardsmith.core.events import extract_samples
from rewardsmith.core.results import SampleResult
from rewardsmith.core.sample import count_assistant_turns
from rewardsmith.core.wire import TURN_REWARDS_KEY, failure_row, lambda_row

# End-of-turn markers a tokenizer leaves at the end of ``query`` when OpenRLHF decodes it
# with ``skip_special_tokens=False`` (ChatML, Llama 3, GPT-2 family, Mistral, Phi, Gemma,
# DeepSeek); they are not part of the model's answer.
END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "</s>",
               "<|end|>", "<end_of_turn>", "<\uff5cend\u2581of\u2581sentence\uff5c>")


class RequestError(RewardsmithError):
    """A request the server cannot read: ``status`` (400 not JSON, 413 too large, 422 wrong
    shape), and a message naming what is wrong and where (``where``: a JSON path such as
    ``body.query[2]``)."""

    def __init__(self, status: int, message: str, where: str = "body") -> None:
        super().__init__(message)
        self.status = status
        self.where = where

    def to_json(self) -> dict[str, Any]:
        return {"error": str(self), "where": self.where}


@dataclass(frozen=True)
class Outcome:
    """What the encoders need about one scored item: its result, the judge components
    that could not run in the batch that scored it, and the reward a failure gets."""

    result: SampleResult
    judge_outages: tuple[str, ...] = ()


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _object(body: Any, protocol: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise RequestError(422, f"{protocol} expects a JSON object, got {_type(body)}")
    return body


# -- per-component views ----------------------------------------------------------------------
def component_values(result: SampleResult, component_ids: Iterable[str]) -> dict[str, float]:
    """Every component's value for one result, with the same keys for every result:
    a component that gave no value (skipped after a gate, abstained, failed with no
    policy value) is ``0.0`` here, and the ``gated`` / ``sample_failed`` flags say why.
    Used only for the per-component maps trainers log; never for the reward."""
    out: dict[str, float] = {}
    for cid in component_ids:
        outcome = result.components.get(cid)
        value = None if outcome is None else outcome.value
        out[cid] = float(value) if value is not None and math.isfinite(value) else 0.0
    return out


def flags(item: Outcome) -> dict[str, float]:
    """``sample_failed``, ``gated`` and ``judge_unavailable`` as 0/1 numbers."""
    return {"sample_failed": float(item.result.status == "failed"),
            "gated": float(item.result.status == "gated"),
            "judge_unavailable": float(bool(item.judge_outages))}


def unit_score(reward: float, reward_range: tuple[float, float]) -> float:
    """``reward`` mapped from the pack's ``reward_range`` onto ``[0, 1]`` (OpenRLHF's
    ``scores`` are read as ``[0, 1]`` by dynamic filtering)."""
    lo, hi = reward_range
    return min(1.0, max(0.0, (reward - lo) / (hi - lo)))


# -- OpenRLHF -------------------------------------------------------------------------------
def strip_end_markers(text: str) -> str:
    """``text`` without trailing end-of-turn markers (:data:`END_MARKERS`) and whitespace."""
    while True:
        stripped = text.rstrip()
        for marker in END_MARKERS:
            if stripped.endswith(marker):
                stripped = stripped[: -len(marker)]
                break
        else:
            return stripped
        text = stripped


# Where the model's answer starts in a chat-templated query: the generation prompt that
# ``apply_chat_template(..., add_generation_prompt=True)`` ends the prompt with, for the
# templates of :data:`END_MARKERS` (ChatML/Qwen, Llama 3, Gemma, Phi-3, Mistral, DeepSeek).
ASSISTANT_HEADERS = ("<|im_start|>assistant\n", "<|start_header_id|>assistant<|end_header_id|>\n\n",
                     "<start_of_turn>model\n", "<|assistant|>\n", "[/INST]",
                     "<\uff5cAssistant\uff5c>")


def split_templated_query(query: str) -> tuple[str, str] | None:
    """``(prompt, response)`` of a query that is a chat-templated prompt followed by the
    response, split after the last assistant header (:data:`ASSISTANT_HEADERS`); ``None``
    when the query holds none, i.e. the response cannot be told apart from the prompt."""
    best: tuple[int, str] | None = None
    for header in ASSISTANT_HEADERS:
        at = query.rfind(header)
        if at >= 0 and (best is None or at + len(header) > best[0]):
            best = (at + len(header), header)
    if best is None:
        return None
    return query[: best[0]], query[best[0]:]


def openrlhf_samples(body: Any) -> list[Any]:
    """OpenRLHF's ``{"query": [...], "prompts": [...], "labels": [...]}`` as wire samples.

    ``prompts`` and ``labels`` are optional but must match ``query`` in length. The
    response is ``query`` after its ``prompts[i]`` prefix, without trailing end-of-turn
    markers; the prompt becomes the user turn (so equal prompts form one group) and the
    label the ``reference_answer``. An item that is not a string, or a query that does not
    start with its prompt, fails alone.

    Without ``prompts`` (older OpenRLHF, ``openrlhf/utils/remote_rm_utils.py``
    ``remote_rm_fn(api_url, queries)`` posting ``{"query": queries}``, "query+response
    with the template", meant for a reward model that reads the whole text), the query is
    split after its last assistant header (:func:`split_templated_query`); a query with
    none fails alone, naming why, rather than being scored whole as the response.

    Raises :class:`RequestError` (422) when the body is not an object or a list is
    missing, not a list, or of the wrong length.
    """
    body = _object(body, "/get_reward")
    if "query" not in body:
        raise RequestError(422, "missing 'query' (a list of prompt+response strings)",
                           "body.query")
    queries = body["query"]
    if not isinstance(queries, list):
        raise RequestError(422, f"'query' must be a list of strings, got {_type(queries)}",
                           "body.query")
    columns: dict[str, list[Any] | None] = {}
    for key in ("prompts", "labels"):
        value = body.get(key)
        if value is not None and not isinstance(value, list):
            raise RequestError(422, f"'{key}' must be a list, got {_type(value)}", f"body.{key}")
        if value is not None and len(value) != len(queries):
            raise RequestError(422, f"'{key}' has {len(value)} items for {len(queries)} queries",
                               f"body.{key}")
        columns[key] = value
    prompts, labels = columns["prompts"], columns["labels"]

    samples: list[Any] = []
    for i, query in enumerate(queries):
        prompt = prompts[i] if prompts is not None else None
        if not isinstance(query, str):
            samples.append(SampleError(f"query[{i}] must be a string, got {_type(query)}",
                                       sample_id=i))
            continue
        if prompt is not None and not isinstance(prompt, str):
            samples.append(SampleError(f"prompts[{i}] must be a string, got {_type(prompt)}",
                                       sample_id=i))
            continue
        if prompt is not None and not query.startswith(prompt):
            samples.append(SampleError(
                f"query[{i}] does not start with prompts[{i}], so the response cannot be told "
                f"apart from the prompt (was the prompt truncated?)", sample_id=i))
            continue
        if prompts is None:
            split = split_templated_query(query)
            if split is None:
                samples.append(SampleError(
                    f"query[{i}] came without 'prompts' and holds no chat-template assistant "
                    f"header, so the response cannot be told apart from the prompt; send "
                    f"'prompts' (as OpenRLHF 0.11 does) or a chat-templated query",
                    sample_id=i))
                continue
            prompt = split[0]
        response = strip_end_markers(query[len(prompt):] if prompt is not None else query)
        messages = [{"role": "user", "content": prompt}] if prompt else []
        messages.append({"role": "assistant", "content": response})
        sample: dict[str, Any] = {"id": i, "messages": messages}
        if labels is not None and labels[i] is not None:
            sample["reference_answer"] = labels[i]
        samples.append(sample)
    return samples


def openrlhf_answer(items: Sequence[Outcome], component_ids: Sequence[str],
                    reward_range: tuple[float, float]) -> dict[str, Any]:
    """``{"rewards": [...], "scores": [...], "extra_logs": {name: [...]}}``, one entry per
    query in order; ``extra_logs`` holds every component's value and the flags."""
    rewards = [float(i.result.reward) for i in items]
    logs: dict[str, list[float]] = {}
    for item in items:
        row = {**component_values(item.result, component_ids), **flags(item)}
        for key, value in row.items():
            logs.setdefault(key, []).append(value)
    return {"rewards": rewards, "scores": [unit_score(r, reward_range) for r in rewards],
            "extra_logs": logs}


# -- slime / miles ----------------------------------------------------------------------------
def slime_sample(body: Any) -> dict[str, Any]:
    """slime's ``{"prompt", "response", "label"}`` as one wire sample.

    ``prompt`` is a string (the user turn) or a list of chat messages; ``label`` becomes
    the ``reference_answer``. The rest of slime's ``Sample`` (``slime/utils/types.py``)
    that an agent reward needs is carried when the request has it (a custom
    ``--custom-rm-path`` posting more than ``remote_rm`` does): ``metadata`` (an object;
    slime keeps task fields there), ``tools`` (top level, else ``metadata.tools``, as the
    sample's tool list), ``final_state`` (top level, else ``metadata.final_state``) and
    ``id``. Raises :class:`RequestError` (422) naming the field when the shape is wrong.
    """
    body = _object(body, "/slime")
    for key in ("prompt", "response"):
        if key not in body:
            raise RequestError(422, f"missing '{key}'", f"body.{key}")
    prompt, response = body["prompt"], body["response"]
    if not isinstance(response, str):
        raise RequestError(422, f"'response' must be a string, got {_type(response)}",
                           "body.response")
    if isinstance(prompt, str):
        messages: list[Any] = [{"role": "user", "content": prompt}] if prompt else []
    elif isinstance(prompt, list):
        for i, message in enumerate(prompt):
            if not isinstance(message, Mapping):
                raise RequestError(422, f"prompt[{i}] must be a chat message object, got "
                                   f"{_type(message)}", f"body.prompt[{i}]")
        messages = list(prompt)
    else:
        raise RequestError(422, f"'prompt' must be a string or a list of chat messages, got "
                           f"{_type(prompt)}", "body.prompt")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise RequestError(422, f"'metadata' must be an object, got {_type(metadata)}",
                           "body.metadata")
    sample: dict[str, Any] = {"id": body.get("id", 0),
                              "messages": [*messages, {"role": "assistant", "content": response}]}
    if body.get("label") is not None:
        sample["reference_answer"] = body["label"]
    if metadata:
        sample["metadata"] = dict(metadata)
    where = "body.tools" if body.get("tools") is not None else "body.metadata.tools"
    tools = body.get("tools", (metadata or {}).get("tools"))
    if tools is not None and not isinstance(tools, list):
        raise RequestError(422, f"'tools' must be a list, got {_type(tools)}", where)
    if tools:
        sample["tools"] = tools
    if body.get("final_state") is not None:
        sample["final_state"] = body["final_state"]
    return sample


def slime_answer(item: Outcome, component_ids: Sequence[str], *, number: bool) -> Any:
    """The bare reward (``number``), or ``{"reward", <component id>: value, ..., flags}``
    for ``--reward-key reward`` (GDPO reads the component ids)."""
    if number:
        return float(item.result.reward)
    return {**component_values(item.result, component_ids), **flags(item),
            "reward": float(item.result.reward)}


# -- NeMo Gym ---------------------------------------------------------------------------------
def _text_parts(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, Mapping) and isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
            elif not isinstance(part, Mapping):
                raise RequestError(422, f"content part must be an object, got {_type(part)}",
                                   f"{where}[{i}]")
        return "".join(texts)
    raise RequestError(422, f"'content' must be a string or a list of parts, got "
                       f"{_type(content)}", where)


def _function_call(item: Mapping[str, Any], where: str) -> dict[str, Any]:
    name = item.get("name")
    if not isinstance(name, str):
        raise RequestError(422, f"function_call needs a string 'name', got {_type(name)}",
                           f"{where}.name")
    return {"type": "function", "id": item.get("call_id"),
            "function": {"name": name, "arguments": item.get("arguments", "")}}


def _input_messages(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Responses-API ``instructions`` + ``input`` as chat messages."""
    messages: list[dict[str, Any]] = []
    instructions = params.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    given = params.get("input")
    where = "body.responses_create_params.input"
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
        return messages
    if not isinstance(given, list):
        raise RequestError(422, f"'input' must be a string or a list of items, got "
                           f"{_type(given)}", where)
    for i, item in enumerate(given):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise RequestError(422, f"input item must be an object, got {_type(item)}", at)
        kind = item.get("type", "message")
        if kind == "message" and "role" in item:
            messages.append({"role": str(item["role"]),
                             "content": _text_parts(item.get("content"), f"{at}.content")})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": "",
                             "tool_calls": [_function_call(item, at)]})
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append({"role": "tool", "content": output if isinstance(output, str)
                             else _text_parts(output, f"{at}.output")})
        # reasoning and other item types carry no text the prompt is judged on
    return messages


def _response_message(response: Mapping[str, Any]) -> dict[str, Any]:
    """The Responses-API ``output`` items as one assistant turn: message texts joined,
    function calls as tool calls, reasoning items left out."""
    output = response.get("output")
    where = "body.response.output"
    if not isinstance(output, list):
        raise RequestError(422, f"'output' must be a list of items, got {_type(output)}", where)
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for i, item in enumerate(output):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise RequestError(422, f"output item must be an object, got {_type(item)}", at)
        kind = item.get("type")
        if kind == "message":
            texts.append(_text_parts(item.get("content"), f"{at}.content"))
        elif kind == "function_call":
            calls.append(_function_call(item, at))
    message: dict[str, Any] = {"role": "assistant", "content": "\n".join(t for t in texts if t)}
    if calls:
        message["tool_calls"] = calls
    return message


NEMO_GYM_KEYS = frozenset({"responses_create_params", "response"})


def rollout_turns(response: Mapping[str, Any]) -> int:
    """How many assistant turns a NeMo Gym ``response.output`` holds: runs of the model's
    items (``reasoning``, ``function_call``, assistant ``message``) separated by the
    ``function_call_output`` items the agent added — one run per model step. Counted as
    :func:`rewardsmith.core.sample.count_assistant_turns` counts Responses items; 0 when
    ``output`` is not a list."""
    output = response.get("output")
    return count_assistant_turns({"messages": output}) if isinstance(output, list) else 0


def nemo_gym_sample(body: Any, reference_key: str) -> dict[str, Any]:
    """A NeMo Gym verify request as one wire sample: instructions and input as the prompt,
    the response's output as the assistant turn, ``responses_create_params.tools`` as the
    tools, ``body[reference_key]`` as the reference answer and the task's other top-level
    fields as metadata (a ``final_state`` field is the environment's final state).

    A rollout of several model steps (:func:`rollout_turns` > 1) becomes a trajectory: the
    ``output`` items are kept as Responses items after the prompt, so each step is one
    assistant turn holding its calls and their ``function_call_output`` results (parsed by
    :mod:`rewardsmith.core.sample`, which fails the sample alone, naming the item, when a
    result answers a call its step never made or an item type is unknown). A single-step
    response is read as before: one assistant turn, message texts joined, function calls as
    tool calls, reasoning and other items left out.

    Raises :class:`RequestError` (422) naming the field."""
    body = _object(body, "/verify")
    for key in ("responses_create_params", "response"):
        if not isinstance(body.get(key), Mapping):
            raise RequestError(422, f"'{key}' must be an object, got {_type(body.get(key))}",
                               f"body.{key}")
    params, response = body["responses_create_params"], body["response"]
    if rollout_turns(response) > 1:
        for i, item in enumerate(response["output"]):
            if not isinstance(item, Mapping):
                raise RequestError(422, f"output item must be an object, got {_type(item)}",
                                   f"body.response.output[{i}]")
        messages = [*_input_messages(params), *response["output"]]
    else:
        messages = [*_input_messages(params), _response_message(response)]
    tools = params.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise RequestError(422, f"'tools' must be a list, got {_type(tools)}",
                           "body.responses_create_params.tools")
    sample: dict[str, Any] = {"id": response.get("id", 0), "messages": messages,
                              "tools": tools or []}
    if body.get(reference_key) is not None:
        sample["reference_answer"] = body[reference_key]
    metadata = {k: v for k, v in body.items()
                if k not in NEMO_GYM_KEYS and k != reference_key and not k.startswith("_")}
    if metadata:
        sample["metadata"] = metadata
    return sample


def nemo_gym_answer(body: Mapping[str, Any], item: Outcome,
                    component_ids: Sequence[str]) -> dict[str, Any]:
    """The request echoed plus ``reward`` and ``reward_components``; a result with a
    per-turn vector (a multi-step rollout, or any rollout under a pack that scores
    trajectories) also gets it under ``turn_rewards`` (one finite float per assistant turn,
    as the Lambda answers it); a sample whose reward is not a valid measurement (it could
    not be scored, or a judge was out) also gets ``mask_sample: true`` with
    ``failure_kind`` and ``failure_reason``."""
    result = item.result
    out = dict(body)
    out["reward"] = float(result.reward)
    out["reward_components"] = component_values(result, component_ids)
    if result.turn_rewards is not None:
        out[TURN_REWARDS_KEY] = [v if math.isfinite(v) else float(result.reward)
                                 for v in map(float, result.turn_rewards)]
    if item.judge_outages:
        out.update(mask_sample=True, failure_kind="judge_failed",
                   failure_reason="judge unavailable for this batch: "
                                  + ", ".join(item.judge_outages))
    elif result.status == "failed":
        out.update(mask_sample=True, failure_kind="verifier_error",
                   failure_reason=f"{result.error_kind}: {result.error}")
    return out


# -- the reward-Lambda event --------------------------------------------------------------------
def lambda_samples(body: Any) -> list[Any]:
    """The samples of a reward-Lambda event (any shape the Lambda accepts). Raises
    :class:`RequestError` (422) with the Lambda's own explanation when there are none —
    where the Lambda answers ``[]``, a server can say why."""
    extracted = extract_samples(body)
    if extracted.error is not None:
        raise RequestError(422, extracted.error, extracted.shape)
    return extracted.items


def lambda_answer(items: Sequence[Outcome], *, failure_reward: float,
                  judge_ids: Iterable[str]) -> list[dict[str, Any]]:
    """One Lambda row per sample (:func:`rewardsmith.core.wire.lambda_row`), a row that
    cannot be encoded costing only itself, exactly as the handler answers."""
    judges = frozenset(judge_ids)
    out: list[dict[str, Any]] = []
    for item in items:
        try:
            out.append(lambda_row(item.result, failure_reward=failure_reward,
                                  judge_ids=judges))
        except Exception:
            out.append(failure_row(item.result.id, failure_reward, ErrorKind.INTERNAL_ERROR))
    return out
