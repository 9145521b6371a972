"""The SFT base model as a plain Hugging Face folder: the embedded GGUF dequantized once and cached.

transformers can load a GGUF but can neither train nor save that model (docs/design.md §4), so we
rebuild a plain model from its config and weights and save that instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput
from diffchat_tui.engines.models import embedded_gguf

EMBEDDED_SPEC = "embedded"


def cached_base_dir(gguf: Path) -> Path:
    """Where the dequantized copy of one GGUF lives; the file's size keeps a changed file from matching."""
    return paths.cache_dir() / "hf-base" / f"{gguf.stem}-{gguf.stat().st_size}"


def dequantize_gguf(gguf: Path, out_dir: Path) -> Path:
    """Write gguf as a plain fp32 safetensors model with its tokenizer and chat template; returns out_dir.

    Written to a temporary folder and renamed, so a crash never leaves a half model behind.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (out_dir / "config.json").is_file():
        return out_dir
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the GGUF marker makes the rebuilt model untrainable and unsavable
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config.pad_token_id = tokenizer.pad_token_id
    partial = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    plain.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / "diffchat_source.txt").write_text(f"dequantized from {gguf}\n")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        partial.rename(out_dir)
    except OSError:  # another process finished first; theirs is as good as ours
        shutil.rmtree(partial, ignore_errors=True)
    return out_dir


def resolve_base(spec: str) -> str:
    """The SFT base: `embedded` (dequantized and cached), a local folder, a .gguf file, or a hub id."""
    if spec == EMBEDDED_SPEC:
        gguf = embedded_gguf()
        return str(dequantize_gguf(gguf, cached_base_dir(gguf)))
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise BadInput(f"base model file not found: {path}")
        return str(dequantize_gguf(path, cached_base_dir(path)))
    if path.exists():
        if not (path / "config.json").is_file():
            raise BadInput(f"base model folder {path} has no config.json")
        return str(path)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise BadInput(f"base model not found: {spec}")
    return spec  # a hub id; transformers downloads it (or finds it cached)


def embedded_gguf_for(base: str) -> Path | None:
    """The GGUF a base folder was dequantized from, so an adapter can be applied to that very file."""
    marker = Path(base) / "diffchat_source.txt"
    if not marker.is_file():
        return None
    source = Path(marker.read_text().strip().removeprefix("dequantized from "))
    return source if source.is_file() else None
