"""Writing a calibrated pack version: ``extends`` the original, overrides only weights.

The new file is small and reviewable: ``[pack]`` with the same name, a bumped version and
``extends`` pointing at the original (by registered name, or by a path relative to the new
file), a ``[pack.calibration]`` table with the evidence, and one ``[[components]]`` entry
per fitted component carrying just ``id`` and ``weight`` (``extends`` merges it onto the
original definition). Everything else is inherited, so a later fix to the base pack
reaches the calibrated version too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from rewardsmith.core.loading import locate
from rewardsmith.core.plugins import PluginHost

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")
SUFFIX = "calibrated"
WEIGHT_DIGITS = 6


def bump_version(version: str) -> str:
    """``1.2.0`` → ``1.2.1-calibrated``; a non-semver version gets ``-calibrated`` appended."""
    match = _SEMVER.match(version)
    if match:
        major, minor, patch = match.groups()
        return f"{major}.{minor}.{int(patch) + 1}-{SUFFIX}"
    return f"{version}-{SUFFIX}"


def extends_reference(pack_spec: str, host: PluginHost, output: Path) -> str:
    """How the new pack names its base: the registered name, or a relative path."""
    found = locate(pack_spec, host)
    if found.registered is not None or found.file is None:
        return pack_spec
    relative = os.path.relpath(found.file.resolve(), output.resolve().parent)
    relative = relative.replace(os.sep, "/")
    # A bare file name could collide with a registered pack name; "./" cannot.
    return relative if "/" in relative else f"./{relative}"


# -- a TOML writer for the plain data this module emits --------------------------------
def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # A JSON string is a valid TOML basic string, except that TOML forbids a raw DEL.
    return orjson.dumps(text).decode().replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()
                          if v is not None)
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table(path: str, mapping: Mapping[str, Any], lines: list[str]) -> None:
    """``[path]`` with plain values first, then each nested mapping as a sub-table.

    None has no TOML spelling: such keys are left out (callers record why instead).
    """
    plain = [(k, v) for k, v in mapping.items()
             if v is not None and not (isinstance(v, Mapping) and v)]
    nested = [(k, v) for k, v in mapping.items() if isinstance(v, Mapping) and v]
    if plain or not nested:  # a table holding only sub-tables needs no header of its own
        if lines and lines[-1]:
            lines.append("")
        lines.append(f"[{path}]")
        lines.extend(f"{_key(str(k))} = {_value(v)}" for k, v in plain)
    for key, value in nested:
        _table(f"{path}.{_key(str(key))}", value, lines)


def render_calibrated_pack(*, name: str, version: str, extends: str,
                           weights: Mapping[str, float], evidence: Mapping[str, Any]) -> str:
    """The TOML text of a calibrated pack version."""
    lines = [
        "# Written by `rewardsmith calibrate`: component weights refit against observed",
        "# outcomes. Only the weights differ from the base pack named in `extends`; the",
        "# evidence is in [pack.calibration].",
        "[pack]",
        f"name = {_string(name)}",
        f"version = {_string(version)}",
        f"extends = {_string(extends)}",
    ]
    _table("pack.calibration", evidence, lines)
    for cid, weight in weights.items():
        lines += ["", "[[components]]", f"id = {_string(cid)}",
                  f"weight = {_value(round(float(weight), WEIGHT_DIGITS))}"]
    return "\n".join(lines) + "\n"


def write_calibrated_pack(output: Path, **kwargs: Any) -> Path:
    """Write :func:`render_calibrated_pack` to ``output`` (parent folders created)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_calibrated_pack(**kwargs), encoding="utf-8")
    return output


def _correlation_entry(by_method: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten one name's correlations to TOML-friendly keys (no nulls)."""
    entry: dict[str, Any] = {}
    for method, corr in by_method.items():
        entry["n"] = corr.n
        if corr.value is None:
            entry[f"{method}_undefined"] = corr.reason or "undefined"
            continue
        entry[method] = round(corr.value, 6)
        if corr.ci_low is not None and corr.ci_high is not None:
            entry[f"{method}_ci"] = [round(corr.ci_low, 6), round(corr.ci_high, 6)]
        elif corr.reason:
            entry[f"{method}_ci_undefined"] = corr.reason
    return entry


def calibration_evidence(result: Any, *, date: str, outcome_field: str,
                         sources: Mapping[str, Mapping[str, str]], seed: int,
                         ) -> dict[str, Any]:
    """The ``[pack.calibration]`` table for a :class:`CalibrationResult` with a fit."""
    fit = result.fit
    if fit is None:
        raise ValueError("no weights were fitted; nothing to record")
    evidence: dict[str, Any] = {
        "method": fit.to_json()["method"],
        "date": date,
        "outcome_field": outcome_field,
        "n_matched": result.n_matched,
        "n_fit": fit.n,
        "previous_version": result.pack["version"],
        "previous_hash": result.pack["hash"],
        "r_squared": round(fit.r_squared, 6),
        "spearman_refit": None if fit.spearman_refit is None else round(fit.spearman_refit, 6),
        "spearman_previous": (None if fit.spearman_previous is None
                              else round(fit.spearman_previous, 6)),
        "confidence": fit.confidence,
        "resamples": fit.resamples,
        "seed": seed,
        "notes": list(fit.notes) + list(result.warnings),
        "sources": {name: dict(info) for name, info in sources.items()},
        "weights": {},
        "correlations": {},
    }
    for comp in fit.components:
        row: dict[str, Any] = {"fitted": round(comp.fitted, WEIGHT_DIGITS),
                               "previous": round(comp.previous, WEIGHT_DIGITS),
                               "imputed": comp.imputed}
        if comp.ci_low is not None and comp.ci_high is not None:
            row["ci"] = [round(comp.ci_low, WEIGHT_DIGITS), round(comp.ci_high, WEIGHT_DIGITS)]
        if comp.note:
            row["note"] = comp.note
        evidence["weights"][comp.id] = row
    evidence["correlations"]["reward"] = _correlation_entry(result.reward_correlation)
    evidence["correlations"]["components"] = {
        cid: _correlation_entry(by_method)
        for cid, by_method in result.component_correlations.items()}
    return evidence
