"""Cold start of two builds of rewardsmith in one interleaved run: the installed one
("after") and another installed into a folder ("before"), both against
``python -c "import boto3"`` measured in the same run.

Usage (the before tree from a commit, installed without dependencies)::

    git archive <commit> src pyproject.toml README.md | tar -x -C /tmp/before-src
    .venv/bin/pip install --no-deps --target /tmp/before-site /tmp/before-src
    .venv/bin/python bench/cold_start_before_after.py /tmp/before-site [--reps 11]

The before build is put first on ``PYTHONPATH``, so both its code and its entry points
(its ``.dist-info``) win over the installed ones; dependencies are the venv's. Figures
are medians of fresh processes, cases interleaved (``bench/cold_start.py``'s method).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before_site", type=Path, help="folder holding the before build")
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--before-preselect-env", default="REWARDSMITH_LAMBDA_PLUGINS",
                        help="the variable the before build reads for plugin preselection")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("cold_start", HERE / "cold_start.py")
    assert spec is not None and spec.loader is not None
    cold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cold)

    python = sys.executable
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REWARDSMITH_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["REWARDSMITH_METRICS"] = "0"
    before = {**env, "PYTHONPATH": str(args.before_site)}
    where = "import rewardsmith; print(rewardsmith.__file__)"
    for label, case_env in (("before", before), ("after", env)):
        found = subprocess.run([python, "-c", where], env=case_env, capture_output=True,
                               text=True, check=True).stdout.strip()
        print(f"{label}: {found}")
    with tempfile.TemporaryDirectory() as tmp:
        after_env = {**env, "PYTHONPYCACHEPREFIX": f"{tmp}/after"}
        before_env = {**before, "PYTHONPYCACHEPREFIX": f"{tmp}/before"}
        cases = [("import boto3 (baseline)", [python, "-c", "import boto3"], after_env)]
        for tag, case_env, preselect in (("before", before_env, args.before_preselect_env),
                                         ("after", after_env, "REWARDSMITH_PLUGINS")):
            load = [python, "-c", cold.LOAD]
            cases += [
                (f"{tag}: handler + json-extraction", load,
                 {**case_env, "REWARDSMITH_PACK": "json-extraction"}),
                (f"{tag}: handler + contract-review", load,
                 {**case_env, "REWARDSMITH_PACK": "contract-review"}),
                (f"{tag}: handler + json-extraction, plugins preselected", load,
                 {**case_env, "REWARDSMITH_PACK": "json-extraction",
                  preselect: "checks,packs"}),
            ]
        results = cold.timed_runs(cases, args.reps)
    base = results[0][1]
    print(f"median of {args.reps} fresh processes per case, interleaved")
    print("| case | ms | x boto3 import |\n|---|---:|---:|")
    for label, seconds in results:
        print(f"| {label} | {seconds * 1000:.0f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
