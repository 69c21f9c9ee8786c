"""The verl adapter driven the way verl >= 0.7 drives a ``compute_score``.

The call shapes are verl-project/verl's, read at tag v0.7.0 and at main (0.10.0.dev):

- ``verl/trainer/ppo/reward.py::get_custom_reward_fn``: ``inspect.iscoroutinefunction(raw_fn)``
  picks ``partial(_call_with_kwargs_async, raw_fn, reward_kwargs)`` (awaited) or
  ``partial(_call_with_kwargs, raw_fn, reward_kwargs)`` (run in an executor); the wrappers
  merge ``reward_kwargs`` over the call's keywords.
- ``verl/experimental/reward_loop/reward_manager/naive.py::NaiveRewardManager.run_single``:
  keywords ``data_source``, ``solution_str``, ``ground_truth``, ``extra_info`` (with
  ``num_turns`` and ``rollout_reward_scores`` added); a dict result's keys all go to
  ``reward_extra_info``.
- ``verl/experimental/reward_loop/reward_loop.py::RewardLoopManager.compute_rm_score``:
  ``keys = list(infos[0].keys())`` then ``np.array([info[key] for info in infos])``.
- ``verl/trainer/ppo/core_algos.py`` (GDPO): ``np.asarray(non_tensor_batch[key],
  dtype=np.float32)`` for each of ``algorithm.gdpo_reward_keys``.

:func:`_reward_loop` below does exactly these steps (verl itself needs torch, Ray and a GPU
stack, so it is not installed for the tests).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rewardsmith import Scorer, load_pack
from rewardsmith.trainers.verl import (
    AsyncVerlComputeScore,
    PromptMissingError,
    VerlComputeScore,
    verl_compute_score,
    verl_compute_score_async,
    verl_compute_score_batch,
)

PACK = """
[pack]
name = "verl-toy"
version = "1"

[[components]]
id = "json"
type = "json-valid"
gate = { fail_reward = 0.0 }

[[components]]
id = "fields"
type = "reference-match"
mode = "json_fields"
weight = 2
on_error = "zero"

[[components]]
id = "length"
type = "length"
unit = "chars"
max = 200
"""

GROUNDED = """
[pack]
name = "verl-grounded"
version = "1"

[[components]]
id = "grounded"
type = "grounding"
spans_from = "json"
weight = 1
on_error = "zero"
"""

GATED = {"data_source": "toy", "solution_str": "not json at all",
         "ground_truth": {"a": 1}, "extra_info": {"question": "Give a as JSON", "index": 0}}
PASSING = {"data_source": "toy", "solution_str": '{"a": 1}',
           "ground_truth": {"a": 1}, "extra_info": {"question": "Give a as JSON", "index": 1}}


@pytest.fixture
def pack_path(tmp_path: Path) -> Path:
    path = tmp_path / "verl-toy.toml"
    path.write_text(PACK)
    return path


def _call_with_kwargs(raw_fn: Any, extra_kwargs: dict[str, Any], *args: Any,
                      **kwargs: Any) -> Any:
    return raw_fn(*args, **{**kwargs, **extra_kwargs})


async def _call_with_kwargs_async(raw_fn: Any, extra_kwargs: dict[str, Any], *args: Any,
                                  **kwargs: Any) -> Any:
    return await raw_fn(*args, **{**kwargs, **extra_kwargs})


def _reward_loop(raw_fn: Any, items: list[dict[str, Any]],
                 reward_kwargs: dict[str, Any] | None = None
                 ) -> tuple[list[float], dict[str, np.ndarray]]:
    """verl's path from a loaded ``compute_score`` to the batch's ``non_tensor_batch``."""
    is_async = inspect.iscoroutinefunction(raw_fn)
    fn = partial(_call_with_kwargs_async if is_async else _call_with_kwargs, raw_fn,
                 dict(reward_kwargs or {}))

    async def run_single(item: dict[str, Any]) -> dict[str, Any]:
        extra_info = dict(item["extra_info"])
        extra_info["num_turns"] = None
        extra_info["rollout_reward_scores"] = {}
        kwargs = {"data_source": item["data_source"], "solution_str": item["solution_str"],
                  "ground_truth": item["ground_truth"], "extra_info": extra_info}
        if is_async:
            result = await fn(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, lambda: fn(**kwargs))
        info = dict(result) if isinstance(result, dict) else {"acc": result}
        score = result["score"] if isinstance(result, dict) else result
        return {"reward_score": score, "reward_extra_info": info}

    async def run_all() -> list[dict[str, Any]]:
        return await asyncio.gather(*(run_single(item) for item in items))

    outputs = asyncio.run(run_all())
    infos = [o["reward_extra_info"] for o in outputs]
    keys = list(infos[0].keys())
    non_tensor_batch = {key: np.array([info[key] for info in infos]) for key in keys}
    return [o["reward_score"] for o in outputs], non_tensor_batch


@pytest.mark.parametrize("make", [VerlComputeScore, AsyncVerlComputeScore])
@pytest.mark.parametrize("order", ["gated_first", "passing_first"])
def test_a_mixed_gated_and_passing_batch_keeps_every_key_in_both_orders(
        pack_path: Path, make: type[VerlComputeScore], order: str) -> None:
    """Case E1: one sample the JSON gate stops, one that passes every check; verl builds its
    table from the first sample's keys, so every row must carry every key."""
    items = [GATED, PASSING] if order == "gated_first" else [PASSING, GATED]
    fn = make(str(pack_path))
    scores, table = _reward_loop(fn, items, {"unused_option": 1})
    expected_keys = ["score", "status", "json", "fields", "length",
                     "json_skipped", "fields_skipped", "length_skipped"]
    assert list(table) == expected_keys == fn.keys
    by_name = dict(zip(["gated", "passing"] if order == "gated_first" else
                       ["passing", "gated"], range(2), strict=True))
    gated, passing = by_name["gated"], by_name["passing"]
    assert scores[gated] == 0.0 and table["status"][gated] == "gated"
    assert table["json"][gated] == 0.0 and not table["json_skipped"][gated]
    assert table["fields"][gated] == 0.0 and table["fields_skipped"][gated]
    assert table["length"][gated] == 0.0 and table["length_skipped"][gated]
    # passing: fields 1.0 (w 2), length 1.0 (w 1) -> 1.0
    assert scores[passing] == pytest.approx(1.0) and table["status"][passing] == "ok"
    assert table["fields"][passing] == 1.0 and not table["fields_skipped"][passing]
    # GDPO reads the reward keys as float32: all finite, whatever the order
    assert fn.reward_keys == ["fields", "length"] and fn.reward_weights == [2.0, 1.0]
    for key in fn.reward_keys:
        assert np.isfinite(np.asarray(table[key], dtype=np.float32)).all()


def test_the_skipped_value_is_configurable_and_must_be_finite(pack_path: Path) -> None:
    fn = verl_compute_score(str(pack_path), skipped_value=-1.0)
    assert fn(**GATED)["fields"] == -1.0
    with pytest.raises(ValueError, match="finite"):
        VerlComputeScore(str(pack_path), skipped_value=math.nan)


def test_numpy_ground_truth_and_extra_info_score_like_plain_values(tmp_path: Path) -> None:
    """Case E2: ``ground_truth = numpy.array(["a", "b"])`` and ``extra_info = {"k":
    numpy.float64(0.5)}`` (what verl's parquet-backed ``non_tensor_batch`` holds) score like
    the plain list / float."""
    path = tmp_path / "list.toml"
    path.write_text(PACK)
    fn = verl_compute_score(str(path))
    plain_row = fn(data_source="d", solution_str='["a", "b"]', ground_truth=["a", "b"],
                   extra_info={"question": "q", "k": 0.5})
    numpy_row = fn(data_source=np.str_("d"), solution_str='["a", "b"]',
                   ground_truth=np.array(["a", "b"]),
                   extra_info={"question": np.str_("q"), "k": np.float64(0.5),
                               "index": np.int64(3)})
    assert numpy_row == plain_row
    assert numpy_row["fields"] == 1.0 and numpy_row["score"] == pytest.approx(1.0)
    # the raw engine given the numpy array does not match it: the edge is what fixes it
    raw = Scorer(load_pack(str(path))).score([{
        "messages": [{"role": "user", "content": "q"},
                     {"role": "assistant", "content": '["a", "b"]'}],
        "reference_answer": np.array(["a", "b"])}]).results[0]
    assert raw.components["fields"].value != 1.0


def test_async_rows_equal_sync_rows_and_inspect_sees_a_coroutine_function(
        pack_path: Path) -> None:
    sync_fn = verl_compute_score(str(pack_path))
    async_fn = verl_compute_score_async(str(pack_path))
    assert not inspect.iscoroutinefunction(sync_fn)
    assert inspect.iscoroutinefunction(async_fn)
    assert list(inspect.signature(async_fn).parameters) == [
        "data_source", "solution_str", "ground_truth", "extra_info", "kwargs"]
    _, sync_table = _reward_loop(sync_fn, [GATED, PASSING])
    _, async_table = _reward_loop(async_fn, [GATED, PASSING])
    assert {k: v.tolist() for k, v in sync_table.items()} == \
        {k: v.tolist() for k, v in async_table.items()}


def _score_in_child(fn: VerlComputeScore) -> dict[str, Any]:
    return fn(**PASSING)


@pytest.mark.parametrize("make", [VerlComputeScore, AsyncVerlComputeScore])
def test_pickles_by_spec_and_scores_in_another_process(pack_path: Path,
                                                       make: type[VerlComputeScore]) -> None:
    fn = make(str(pack_path))
    result = fn(**PASSING)  # a built scorer does not travel: only the spec does
    if inspect.iscoroutine(result):
        asyncio.run(result)
    copy = pickle.loads(pickle.dumps(fn))
    assert type(copy) is make and copy.keys == fn.keys
    assert inspect.iscoroutinefunction(copy) == inspect.iscoroutinefunction(fn)
    if make is VerlComputeScore:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            row = pool.submit(_score_in_child, fn).result(timeout=120)
        assert row == fn(**PASSING)


def test_pickling_a_scorer_built_adapter_says_what_to_pass(pack_path: Path) -> None:
    fn = VerlComputeScore(load_pack(str(pack_path)))
    with pytest.raises(TypeError, match="pack's name or path"):
        pickle.dumps(fn)


def test_grounding_without_a_question_is_loud(tmp_path: Path) -> None:
    path = tmp_path / "grounded.toml"
    path.write_text(GROUNDED)
    fn = verl_compute_score(str(path))
    answer = '{"vendor": "ACME Corp"}'
    row = fn(data_source="d", solution_str=answer, ground_truth=None,
             extra_info={"question": "Invoice from ACME Corp, total 10"})
    assert row["grounded"] == 1.0
    with pytest.raises(PromptMissingError) as caught:
        fn(data_source="d", solution_str=answer, ground_truth=None,
           extra_info={"index": 4, "split": "train"})
    message = str(caught.value)
    assert "'grounded'" in message and "['question', 'prompt']" in message
    assert "['index', 'split']" in message  # what extra_info had instead
    # the chat messages under extra_info["prompt"] serve as well
    row = fn(data_source="d", solution_str=answer, ground_truth=None,
             extra_info={"prompt": np.array([{"role": "user", "content": "From ACME Corp"}])})
    assert row["grounded"] == 1.0


def test_require_prompt_stops_a_sample_without_one(pack_path: Path) -> None:
    fn = verl_compute_score(str(pack_path), require_prompt=True)
    with pytest.raises(PromptMissingError, match="none of the prompt keys"):
        fn(data_source="d", solution_str="{}", ground_truth=None, extra_info=None)


def test_batch_form_returns_the_same_keys_for_every_row(pack_path: Path) -> None:
    """verl < 0.7 ``BatchRewardManager`` (``verl/workers/reward_manager/batch.py`` at
    v0.6.1) calls ``compute_score(data_sources=, solution_strs=, ground_truths=,
    extra_infos=, **reward_kwargs)``."""
    fn = verl_compute_score_batch(str(pack_path))
    items = [GATED, PASSING]
    rows = fn(data_sources=[i["data_source"] for i in items],
              solution_strs=[i["solution_str"] for i in items],
              ground_truths=[i["ground_truth"] for i in items],
              extra_infos=[i["extra_info"] for i in items], some_reward_kwarg=1)
    assert [list(r) for r in rows] == [fn.keys, fn.keys]
    assert [r["status"] for r in rows] == ["gated", "ok"]


def test_a_component_id_clashing_with_a_row_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clash.toml"
    path.write_text(PACK.replace('id = "length"', 'id = "status"'))
    with pytest.raises(ValueError, match=r"component id\(s\) \['status'\] clash"):
        VerlComputeScore(load_pack(str(path)))


_INVOICE = "INVOICE No. A-1\nBill to: Brightside Clinic\nTOTAL GBP 10.00"


def test_a_failed_component_is_flagged_skipped_not_read_as_a_real_zero() -> None:
    """Grounding with nothing to ground fails (policy ``zero``): its key holds the skipped
    value and ``grounded_skipped`` is True, as for a gated or abstaining component; a
    grounded answer reads 1.0 with the flag False."""
    compute_score = VerlComputeScore("json-extraction", skipped_value=-0.5)
    failed = compute_score(data_source="x", solution_str='{"invoice_number": "A-1"}',
                           extra_info={"question": _INVOICE})
    assert failed["status"] == "ok"
    assert failed["grounded"] == -0.5 and failed["grounded_skipped"] is True
    assert failed["json"] == 1.0 and failed["json_skipped"] is False
    grounded = compute_score(data_source="x",
                             solution_str='{"invoice_number": "A-1", "total": 10.0}',
                             ground_truth={"invoice_number": "A-1", "total": 10.0},
                             extra_info={"question": _INVOICE})
    assert grounded["grounded"] == 1.0 and grounded["grounded_skipped"] is False


def test_a_batch_of_unequal_lists_raises_naming_the_lengths(pack_path: Path) -> None:
    compute_score = verl_compute_score_batch(str(pack_path))
    with pytest.raises(ValueError, match=r"differ in length \(data_sources=1, "
                                         r"solution_strs=2, ground_truths=1, extra_infos=1\)"):
        compute_score(data_sources=["x"], solution_strs=["a", "b"], ground_truths=[None],
                      extra_infos=[{}])
    with pytest.raises(ValueError, match="extra_infos=1"):
        compute_score(data_sources=["x", "x"], solution_strs=["a", "b"],
                      ground_truths=[None, None], extra_infos=[{}])
