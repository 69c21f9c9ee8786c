"""Cold start of the reward Lambda: import the handler and load a built-in pack, in a fresh
interpreter each time, against ``python -c "import boto3"`` measured in the same run.

Usage::

    .venv/bin/python bench/cold_start.py [--reps 9] [--zip] [--floor]

One case also makes the first call (issue 13): handler + a pack with one rubric judge +
one invocation judging one sample against a Converse simulator (its own process), target
<= 1.5x the boto3 import.

``--before-src DIR`` also runs every case except the interpreter and boto3 baselines with
``DIR`` (e.g. a ``git archive`` of an older commit's ``src``) first on ``PYTHONPATH``,
labelled ``[before]``, interleaved with the others, so before and after share one run's
load and one boto3 baseline.

``--zip`` also builds the deployment zips (``rewardsmith lambda package --local``) of
json-extraction and of the judge pack above, and times them in an isolated interpreter
(``-I -S``) that sees only the unzipped package, a link to boto3 (the runtime provides
it) and the standard library — the layout of ``/var/task`` in Lambda, with its
precompiled bytecode and the environment the generated template sets (issue 13: the
judge zip's first call, beside the venv's, which holds ~63 distributions to the zip's ~20).

``--floor`` also times the third-party floor of the first call: a fresh interpreter that
imports exactly the modules outside rewardsmith that the first call ends with (read from
one run's ``sys.modules``, in their import order) and builds one pydantic model (its plugin
scan) — what the first call would cost if rewardsmith's own code were free.

Each figure is the median wall time of a whole child process (interpreter start
included) over ``--reps`` runs, and beside it the median CPU time (user + system) of
the same runs, steadier on a loaded box; the target is handler+pack <= 2.0x the boto3 import.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from rewardsmith.simulators.faults import FaultPolicy
from rewardsmith.simulators.loadtest import SimulatorProcess

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 2.0

LOAD = (
    "import rewardsmith.aws_lambda as m\n"
    "m.warm()\n"
    "err = m.default_handler().load_error\n"
    "assert err is None, err\n"
)
ISOLATED_PREFIX = "import sys\nsys.path[:0] = sys.argv[1:3]\n"
# Init phase (handler, pack, judge client) and the first invocation: one judged sample.
FIRST_CALL = LOAD + (
    "rows = m.handler([{'id': 'a', 'messages': [{'role': 'user', 'content': 'Hi?'}, "
    "{'role': 'assistant', 'content': 'Hello, how can I help?'}]}], None)\n"
    "assert any(x['name'] == 'polite' for x in rows[0]['metrics_list']), rows\n"
)
JUDGE_PACK = """
[pack]
name = "cold-judge"
version = "1"

[judge]
backend = "bedrock"
model = "openai.gpt-oss-120b-1:0"
region = "us-east-1"
endpoint_url = "{url}"
cache_path = ""

[[components]]
id = "polite"
type = "rubric-judge"
criteria = [{{ id = "polite", pass_if = "The answer is polite." }}]
"""
FIRST_CALL_TARGET = 1.5
# Prints the modules outside rewardsmith that the first call leaves in sys.modules.
LIST_MODULES = FIRST_CALL + (
    "import json, sys\n"
    "print(json.dumps([k for k in sys.modules if not k.startswith(('rewardsmith', '__'))]))\n"
)
FLOOR = (
    "import importlib, json, sys\n"
    "for name in json.loads(sys.argv[1]):\n"
    "    if name not in sys.modules:\n"
    "        try:\n"
    "            importlib.import_module(name)\n"
    "        except ImportError:\n"
    "            pass\n"  # e.g. a module only importable as its package's side effect
    "from pydantic import BaseModel\n"
    "class Floor(BaseModel):\n"
    "    x: int = 1\n"
    "Floor(x=2)\n"
)


def timed_runs(cases: list[tuple[str, list[str], dict[str, str]]], reps: int
               ) -> list[tuple[str, float, float]]:
    """Median wall seconds and median CPU seconds (user + system, ``RUSAGE_CHILDREN``) of
    ``reps`` fresh processes per case. Cases are interleaved (one run of each per round)
    so that load from other processes hits them alike, after one unmeasured round that
    warms the OS file cache. CPU time moves much less with the load of a shared box than
    wall time does (it counts the child's own work, not its waits for a core)."""
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for round_ in range(reps + 1):
        for label, argv, env in cases:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                raise SystemExit(f"{label} failed:\n{done.stderr[-2000:]}")
            if round_:
                times[label].append(elapsed)
                cpus[label].append(after.ru_utime - before.ru_utime
                                   + after.ru_stime - before.ru_stime)
    return [(label, statistics.median(times[label]), statistics.median(cpus[label]))
            for label, _, _ in cases]


def build_zip(workdir: Path, pack: str, name: str) -> tuple[Path, dict[str, str]]:
    """Build the zip ``rewardsmith lambda package --local PACK`` builds, unzip it into
    ``workdir/name`` and return that directory with the environment its template sets
    (``REWARDSMITH_PACK``, the preselected plugins, the operator grants,
    ``LAMBDA_TASK_ROOT``; see cli/lambda_.py)."""
    from rewardsmith import make_plugin_host
    from rewardsmith.aws_lambda.package.build import BuildOptions, build_zip

    zip_path = workdir / f"{name}.zip"
    report = build_zip(BuildOptions(pack=pack, output=zip_path, local=True),
                       make_plugin_host())
    task = workdir / name
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(task)
    env = {"REWARDSMITH_PACK": report.pack_env, "LAMBDA_TASK_ROOT": str(task),
           **report.grants, **report.environment}
    if report.plugins:
        env["REWARDSMITH_PLUGINS"] = ",".join(report.plugins)
    return task, env


def link_runtime(workdir: Path) -> Path:
    """A directory holding links to boto3 and its dependencies (the Lambda runtime's)."""
    from rewardsmith.aws_lambda.package.build import installed_closure

    runtime = workdir / "runtime"
    runtime.mkdir()
    for dist in installed_closure(["boto3"]):
        base = Path(str(dist.locate_file(""))).resolve()
        for top in {Path(str(f)).parts[0] for f in dist.files or []
                    if not str(f).startswith("..")}:
            if (base / top).exists() and not (runtime / top).exists():
                (runtime / top).symlink_to(base / top)
    return runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--zip", action="store_true", help="also time the packaged zip")
    parser.add_argument("--floor", action="store_true",
                        help="also time the third-party modules of the first call alone")
    parser.add_argument("--before-src", metavar="DIR",
                        help="also time every case with DIR first on PYTHONPATH")
    args = parser.parse_args()
    python = sys.executable
    env = {**os.environ, "REWARDSMITH_METRICS": "0"}
    env.pop("REWARDSMITH_PLUGINS", None)
    # Bytecode caching as in Lambda, where the zip ships .pyc: without it (this container
    # sets PYTHONDONTWRITEBYTECODE=1) every start recompiles every source module. The
    # caches go to a temporary prefix, not into the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("python -c pass (interpreter start)", [python, "-c", "pass"], env),
        ("python -c 'import boto3' (baseline)", [python, "-c", "import boto3"], env),
        ("import rewardsmith.aws_lambda", [python, "-c", "import rewardsmith.aws_lambda"], env),
        ("handler + pack json-extraction", [python, "-c", LOAD],
         {**env, "REWARDSMITH_PACK": "json-extraction"}),
        ("handler + pack contract-review (judge)", [python, "-c", LOAD],
         {**env, "REWARDSMITH_PACK": "contract-review"}),
        ("handler + pack json-extraction, plugins preselected", [python, "-c", LOAD],
         {**env, "REWARDSMITH_PACK": "json-extraction",
          "REWARDSMITH_PLUGINS": "checks,packs"}),
    ]
    with tempfile.TemporaryDirectory() as tmp, \
            SimulatorProcess("bedrock", FaultPolicy(latency_s=0.0)) as sim:
        pack = Path(tmp) / "cold-judge.toml"
        pack.write_text(JUDGE_PACK.format(url=sim.endpoint_url), encoding="utf-8")
        judge_env = {**env, "REWARDSMITH_PACK": str(pack), "AWS_ACCESS_KEY_ID": "AKIACOLD",
                     "AWS_SECRET_ACCESS_KEY": "cold", "AWS_EC2_METADATA_DISABLED": "true",
                     "REWARDSMITH_LOG_LEVEL": "error"}
        cases.append(("handler + judge pack + first call (1 judged sample)",
                      [python, "-c", FIRST_CALL], judge_env))
        # What `rewardsmith lambda package` sets for this pack (package.build.pack_plugins).
        cases.append(("handler + judge pack + first call, plugins preselected",
                      [python, "-c", FIRST_CALL],
                      {**judge_env, "REWARDSMITH_PLUGINS": "bedrock,judges,packs"}))
        if args.floor:
            listed = subprocess.run([python, "-c", LIST_MODULES], env=judge_env,
                                    capture_output=True, text=True, check=True)
            modules = listed.stdout.strip().splitlines()[-1]
            cases.append(("third-party floor: the judged call's modules outside rewardsmith, alone",
                          [python, "-c", FLOOR, modules], env))
        if args.before_src:
            before = str(Path(args.before_src).resolve())
            cases += [(f"[before] {label}", argv, {**case_env, "PYTHONPATH": before})
                      for label, argv, case_env in cases
                      if "(baseline)" not in label and "interpreter" not in label
                      and "floor" not in label]
        for case_env in {id(c[2]): c[2] for c in cases}.values():
            case_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        if args.zip:
            runtime = link_runtime(Path(tmp))
            task, _ = build_zip(Path(tmp), "json-extraction", "task")
            judge_task, judge_zip_env = build_zip(Path(tmp), str(pack), "judge-task")
            iso = [python, "-I", "-S", "-c"]
            paths = [str(task), str(runtime)]
            judge_paths = [str(judge_task), str(runtime)]
            cases += [
                ("zip, isolated: import boto3 (baseline)",
                 [*iso, ISOLATED_PREFIX + "import boto3", *paths], env),
                ("zip, isolated: handler + pack json-extraction",
                 [*iso, ISOLATED_PREFIX + LOAD, *paths],
                 {**env, "REWARDSMITH_PACK": "json-extraction"}),
                # What the packaged template sets: only the plugins the pack uses.
                ("zip, isolated: handler + pack json-extraction, plugins preselected",
                 [*iso, ISOLATED_PREFIX + LOAD, *paths],
                 {**env, "REWARDSMITH_PACK": "json-extraction",
                  "REWARDSMITH_PLUGINS": "checks,packs"}),
                # The judge pack's own zip with what its template sets: the deployed layout.
                ("zip, isolated: handler + judge pack + first call, as packaged",
                 [*iso, ISOLATED_PREFIX + FIRST_CALL, *judge_paths],
                 {**judge_env, **judge_zip_env}),
            ]
        results = timed_runs(cases, args.reps)

    baselines = {label: (t, c) for label, t, c in results if "(baseline)" in label}
    print(f"median of {args.reps} fresh processes per case, interleaved, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print("| case | ms | x boto3 import | CPU ms | CPU x boto3 import |\n"
          "|---|---:|---:|---:|---:|")
    for label, seconds, cpu in results:
        base, base_cpu = (baselines["zip, isolated: import boto3 (baseline)"]
                          if label.startswith("zip")
                          else baselines["python -c 'import boto3' (baseline)"])
        print(f"| {label} | {seconds * 1000:.0f} | {seconds / base:.2f} | {cpu * 1000:.0f} "
              f"| {cpu / base_cpu:.2f} |")
    results = [(label, t) for label, t, _ in results]
    baselines = {label: t for label, (t, _) in baselines.items()}
    worst = max(t / baselines["python -c 'import boto3' (baseline)"]
                for label, t in results if label.startswith(("handler", "[before] handler")))
    print(f"\nworst handler+pack ratio (venv): {worst:.2f} (target <= {TARGET_RATIO})")
    for label, seconds in results:
        if "first call" in label:
            ratio = seconds / baselines["zip, isolated: import boto3 (baseline)"
                                        if label.startswith("zip")
                                        else "python -c 'import boto3' (baseline)"]
            print(f"{label}: {ratio:.2f} x import boto3 (target <= {FIRST_CALL_TARGET})")
    packaged = [t for label, t in results if label.endswith("plugins preselected")
                and label.startswith("zip")]
    if packaged:
        ratio = packaged[0] / baselines["zip, isolated: import boto3 (baseline)"]
        print(f"as deployed (zip, plugins preselected): {ratio:.2f} (target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
