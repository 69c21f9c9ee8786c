"""``llama-server`` built from the llama.cpp source vendored in the pinned
``llama-cpp-python`` sdist (Debian bookworm ships no llama.cpp; issue 14).

The sdist is fetched with ``pip download --no-binary``; its ``vendor/llama.cpp`` is
configured with CMake for the server target only, offline (``-DLLAMA_CURL=OFF``,
``-DLLAMA_OPENSSL=OFF``, ``-DLLAMA_USE_PREBUILT_UI=OFF``: no download at build time), and
built with two jobs under ``nice -n 10`` (the build shares a small machine). It takes tens of
minutes on 2 busy cores, so CI replays cassettes instead (docs/decisions.md, issue 14).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

from rewardsmith.judgemodel.assets import AssetError, cache_dir, pip_download

LLAMA_CPP_PYTHON = "llama-cpp-python"
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
CMAKE_FLAGS = ("-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
               "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_BUILD_TESTS=OFF",
               "-DLLAMA_BUILD_EXAMPLES=OFF", "-DBUILD_SHARED_LIBS=OFF")


def server_binary(root: Path | None = None) -> Path:
    """Where the built ``llama-server`` is (it may not exist yet)."""
    return (root or cache_dir()) / "llama.cpp-build" / "bin" / "llama-server"


def _source(root: Path) -> Path:
    folder = root / "src" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}"
    vendored = folder / "vendor" / "llama.cpp"
    if (vendored / "CMakeLists.txt").exists():
        return vendored
    downloads = root / "sdist"
    pip_download([f"{LLAMA_CPP_PYTHON}=={LLAMA_CPP_PYTHON_VERSION}"], downloads,
                 extra_args=("--no-binary", LLAMA_CPP_PYTHON))
    [archive] = sorted(downloads.glob(f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(root / "src", filter="data")
    if not (vendored / "CMakeLists.txt").exists():
        raise AssetError(f"{archive.name} has no vendor/llama.cpp/CMakeLists.txt")
    return vendored


def build_server(root: Path | None = None, *, jobs: int = 2, log: Path | None = None) -> Path:
    """Build ``llama-server`` (once; an existing binary is returned as is).

    ``log`` receives CMake's output (default: ``build.log`` in the cache folder).

    Raises:
        AssetError: cmake is missing, or configuring or building failed (the log is named).
    """
    base = root or cache_dir()
    binary = server_binary(base)
    if binary.exists():
        return binary
    cmake = shutil.which("cmake")
    if cmake is None:
        raise AssetError("building llama-server needs cmake and a C++ compiler "
                         "(Debian: apt-get install cmake g++)")
    source = _source(base)
    build = binary.parent.parent
    log_path = log or base / "build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    steps = [
        [*nice, cmake, "-S", str(source), "-B", str(build), *CMAKE_FLAGS],
        [*nice, cmake, "--build", str(build), "--target", "llama-server", "-j", str(jobs)],
    ]
    with log_path.open("a", encoding="utf-8") as out:
        for step in steps:
            done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise AssetError(f"{' '.join(step[len(nice):len(nice) + 2])} failed "
                                 f"(exit {done.returncode}); see {log_path}")
    if not binary.exists():
        raise AssetError(f"the build finished without {binary}; see {log_path}")
    return binary
