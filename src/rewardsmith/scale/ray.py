"""Offline scoring of a large rollouts file on Ray Data: an actor pool, one ``Scorer`` per
actor, groups (samples sharing a prompt) kept whole, the same JSONL rows as
``rewardsmith score``, in input order.

Ray Data API used (ray 2.60): ``ray.data.from_items``, ``Dataset.map_batches(cls,
fn_constructor_kwargs=, batch_size=, batch_format="numpy",
compute=ActorPoolStrategy(size=n))`` (a class makes an actor pool of ``n`` actors; the
constructor runs once per actor) and
``Dataset.iter_rows``. https://docs.ray.io/en/latest/data/api/doc/ray.data.Dataset.map_batches.html

The driver reads the file once, decodes each line and groups samples by prompt (the
engine's group key); each Ray row is one whole group, so however Ray batches rows no group
is split. Workers load the pack by name or absolute path from their own installed
plugins: on a remote cluster every node needs rewardsmith (and the pack's plugins)
installed.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from rewardsmith.core.errors import SampleError
from rewardsmith.core.plugins import PluginHost, make_plugin_host
from rewardsmith.core.rollouts import decode_line
from rewardsmith.core.sample import parse_sample
from rewardsmith.core.telemetry import JudgeOutage

DEFAULT_BATCH_SIZE = 256


@dataclass
class RayScoreSummary:
    """What a Ray scoring run did: sample counts by status, the mean reward (None for an
    empty file), the first outage of each judge component that could not run (as
    ``rewardsmith score`` reports them), the number of actors and the wall time in
    seconds."""

    samples: int = 0
    failed: int = 0
    gated: int = 0
    reward_mean: float | None = None
    outages: dict[str, JudgeOutage] = field(default_factory=dict)
    actors: int = 0
    elapsed_s: float = 0.0


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError("scoring on Ray needs Ray Data: pip install 'rewardsmith[ray]' "
                          f"({exc})") from exc
    return ray


def group_rows(lines: Iterable[tuple[int, bytes]], batch_size: int) -> list[dict[str, Any]]:
    """Ray rows, one per group: ``{"indices": JSON list of input positions, "lines": JSON
    list of (line number, line text)}``, groups in order of first appearance. A line that
    does not decode or parse is a group of its own (the worker writes its failed row).
    A group larger than ``batch_size`` is still one row (a group is never split).

    Raises ``ValueError`` for ``batch_size`` < 1."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    groups: dict[str, list[tuple[int, int, str]]] = {}
    for position, (line_no, raw) in enumerate(lines):
        text = raw.decode("utf-8", errors="surrogateescape")
        value = decode_line(raw, line_no)
        key = f"#line{line_no}"
        if not isinstance(value, SampleError):
            with contextlib.suppress(SampleError):  # the worker writes its failed row
                key = parse_sample(value, position).group_key
        groups.setdefault(key, []).append((position, line_no, text))
    return [{"indices": orjson.dumps([m[0] for m in members]).decode(),
             "lines": orjson.dumps([[m[1], m[2]] for m in members]).decode()}
            for members in groups.values()]


def _read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            if raw.strip():
                yield line_no, raw.rstrip(b"\r\n")


class ScoreActor:
    """One Ray Data actor: builds its ``Scorer`` once, scores each batch of groups in one
    pass and returns, per sample, its input position, its JSONL row, its status and
    reward, and (on the batch's first row) the judge outages of the batch as JSON."""

    def __init__(self, pack_spec: str, timeout_s: float | None = None,
                 plugin_modules: Sequence[str] = ()) -> None:
        from rewardsmith.core.engine import Scorer
        from rewardsmith.core.pack import load_pack

        self.scorer = Scorer(load_pack(pack_spec, plugin_host(plugin_modules)))
        self.timeout_s = timeout_s

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from rewardsmith.core.wire import encode_line, jsonl_row

        positions: list[int] = []
        samples: list[Any] = []
        for indices, lines in zip(batch["indices"], batch["lines"], strict=True):
            positions.extend(orjson.loads(indices))
            for line_no, text in orjson.loads(lines):
                raw = text.encode("utf-8", errors="surrogateescape")
                samples.append(decode_line(raw, line_no))
        scored = self.scorer.score(samples, timeout_s=self.timeout_s)
        outages = {cid: o.to_json() for cid, o in scored.telemetry.judge_unavailable.items()}
        return {
            "position": np.array(positions, dtype=np.int64),
            "row": np.array([encode_line(jsonl_row(r, index=positions[r.index]))
                             for r in scored.results], dtype=object),
            "status": np.array([r.status for r in scored.results], dtype=object),
            "reward": np.array([r.reward for r in scored.results], dtype=np.float64),
            "outages": np.array([orjson.dumps(outages).decode() if i == 0 and outages else ""
                                 for i in range(len(scored.results))], dtype=object),
        }


def plugin_host(plugin_modules: Sequence[str]) -> PluginHost:
    """The installed plugins plus ``plugin_modules`` (importable module names, chosen by
    the caller, never by a pack) registered in process; raises ``ImportError`` for a module
    that does not import and ``PluginError`` as :func:`make_plugin_host` does."""
    modules = [(name, importlib.import_module(name)) for name in plugin_modules]
    return make_plugin_host(plugins=modules)


def resolve_pack_spec(pack_spec: str) -> str:
    """A pack path made absolute (workers may run elsewhere), a pack name as is."""
    return os.path.abspath(pack_spec) if os.path.exists(pack_spec) else pack_spec


def score_rollouts_ray(
    rollouts: Path,
    pack_spec: str,
    output: IO[str],
    *,
    address: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actors: int | None = None,
    timeout_s: float | None = None,
    plugin_modules: Sequence[str] = (),
) -> RayScoreSummary:
    """Score the JSONL ``rollouts`` with ``pack_spec`` on Ray and write the
    ``rewardsmith score`` rows to ``output`` in input order.

    ``address`` goes to ``ray.init(address=...)`` (``None`` or ``""``: Ray's default,
    which joins the cluster named by ``RAY_ADDRESS`` or starts a local one; ``"auto"``, a
    ``host:port`` or ``ray://host:port``); a Ray already initialised in this process is
    used as it is. ``actors`` defaults to the cluster's CPU count; each actor holds one
    ``Scorer``; a batch is about ``batch_size`` samples, whole groups only.
    ``plugin_modules`` are importable modules registered as plugins in the driver and in
    every actor besides the installed entry points (plugins not installed as packages;
    the actors must be able to import them).

    Raises ``ImportError`` without Ray Data, ``ValueError`` for a bad ``batch_size`` or
    ``actors``, what :func:`~rewardsmith.core.pack.load_pack` raises (checked in the
    driver before any work is shipped), and Ray's errors for a cluster it cannot reach.
    """
    from rewardsmith.core.pack import load_pack

    ray = _import_ray()
    if actors is not None and actors < 1:
        raise ValueError(f"actors must be >= 1, got {actors}")
    spec = resolve_pack_spec(pack_spec)
    load_pack(spec, plugin_host(plugin_modules))  # fails here, not in every actor
    started = time.monotonic()
    rows = group_rows(_read_lines(rollouts), batch_size)
    n_samples = sum(len(orjson.loads(r["indices"])) for r in rows)
    summary = RayScoreSummary(samples=n_samples)
    if not rows:
        summary.elapsed_s = time.monotonic() - started
        return summary
    if not ray.is_initialized():
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
    n_actors = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    summary.actors = n_actors
    rows_per_batch = max(1, round(batch_size * len(rows) / n_samples))
    dataset = ray.data.from_items(rows).map_batches(
        ScoreActor, fn_constructor_kwargs={"pack_spec": spec, "timeout_s": timeout_s,
                                           "plugin_modules": list(plugin_modules)},
        batch_size=rows_per_batch, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=n_actors))
    out_rows: list[str] = [""] * n_samples
    rewards = 0.0
    for item in dataset.iter_rows():
        out_rows[int(item["position"])] = str(item["row"])
        status = str(item["status"])
        summary.failed += status == "failed"
        summary.gated += status == "gated"
        rewards += float(item["reward"])
        if item["outages"]:
            for cid, o in orjson.loads(str(item["outages"])).items():
                summary.outages.setdefault(cid, JudgeOutage(cid, o["kind"], o["cause"],
                                                            o["failed"], o["allowed"]))
    for line in out_rows:
        output.write(line + "\n")
    mean = rewards / n_samples
    summary.reward_mean = mean if math.isfinite(mean) else None
    summary.elapsed_s = time.monotonic() - started
    return summary
