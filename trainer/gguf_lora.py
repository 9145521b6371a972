"""A PEFT LoRA written as a llama.cpp GGUF adapter by our own code (the `gguf` package's writer).

llama.cpp stores a llama model's q_proj and k_proj rows in a rotary-friendly order (its
converter permutes them per head), so the B matrices of q and k get the same row permutation
here; without it the adapter would add its update to the wrong rows.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY, TRAINED_FORMAT

SUPPORTED_ARCHS = {"llama": "LLAMA"}
"""HF model_type -> gguf MODEL_ARCH member; llama covers SmolLM2."""
ADAPTER_TYPES = {"f16": "float16", "f32": "float32"}
_PEFT_PREFIX = "base_model.model."


def rotary_rows(weight, n_head: int):
    """llama.cpp's per-head row order for q/k: each head's two rotary halves are interleaved."""
    rows = weight.shape[0]
    return weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise BadInput(f"{path.parent} has no {path.name}; is it a {what}?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise BadInput(f"{path} is corrupt") from None


def lora_alpha_for_llama_cpp(adapter_config: dict) -> float:
    """llama.cpp scales by alpha / rank; rsLoRA scales by alpha / sqrt(rank), so its alpha is adjusted."""
    alpha, rank = float(adapter_config["lora_alpha"]), int(adapter_config["r"])
    return alpha * math.sqrt(rank) if adapter_config.get("use_rslora") else alpha


def check_adapter_config(config: dict) -> None:
    """Refuse what a llama.cpp LoRA cannot express, with the reason."""
    if config.get("peft_type", "LORA") != "LORA":
        raise BadInput(f"only LoRA adapters can be exported, not {config.get('peft_type')}")
    if config.get("use_dora"):
        raise BadInput("DoRA adapters cannot be exported to a llama.cpp adapter")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise BadInput("per-module ranks or alphas cannot be exported: llama.cpp has one alpha per adapter")
    if config.get("modules_to_save"):
        raise BadInput("modules_to_save cannot go in a LoRA adapter; export the full model instead")
    if config.get("bias", "none") != "none":
        raise BadInput("LoRA biases cannot be exported to a llama.cpp adapter")


def load_lora_pairs(adapter_dir: Path) -> dict[str, tuple]:
    """{HF module name: (A, B)} as float32 numpy arrays, A (rank, in) and B (out, rank)."""
    from safetensors import safe_open

    weights = adapter_dir / "adapter_model.safetensors"
    if not weights.is_file():
        raise BadInput(f"{adapter_dir} has no adapter_model.safetensors")
    pairs: dict[str, dict[str, object]] = {}
    with safe_open(str(weights), framework="pt") as handle:
        for key in handle.keys():
            name = key.removeprefix(_PEFT_PREFIX)
            for part in ("A", "B"):
                suffix = f".lora_{part}.weight"
                if name.endswith(suffix):
                    tensor = handle.get_tensor(key).float().numpy()
                    pairs.setdefault(name.removesuffix(suffix), {})[part] = tensor
                    break
            else:
                raise BadInput(f"cannot export adapter tensor {key}: only LoRA A/B matrices of linear layers are supported")
    for name, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise BadInput(f"adapter tensor pair for {name} is incomplete")
    return {name: (pair["A"], pair["B"]) for name, pair in pairs.items()}


def write_lora_gguf(adapter_dir: Path, base_config: dict, out: Path, dtype: str = "f16", base_name: str = "") -> Path:
    """Write adapter_dir (a PEFT LoRA over a model with base_config) as a GGUF adapter at out."""
    import gguf
    import numpy as np

    if dtype not in ADAPTER_TYPES:
        raise BadInput(f"an adapter is written as {' or '.join(ADAPTER_TYPES)}, not {dtype}")
    model_type = base_config.get("model_type")
    if model_type not in SUPPORTED_ARCHS:
        raise BadInput(f"adapter export supports llama-architecture models, not {model_type!r}")
    config = _read_json(adapter_dir / "adapter_config.json", "LoRA adapter folder")
    check_adapter_config(config)
    arch = getattr(gguf.MODEL_ARCH, SUPPORTED_ARCHS[model_type])
    names = gguf.TensorNameMap(arch, int(base_config["num_hidden_layers"]))
    n_head = int(base_config["num_attention_heads"])
    n_head_kv = int(base_config.get("num_key_value_heads") or n_head)
    rotary_heads = {"self_attn.q_proj": n_head, "self_attn.k_proj": n_head_kv}

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(str(partial), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, lora_alpha_for_llama_cpp(config))
    writer.add_string(FORMAT_METADATA_KEY, TRAINED_FORMAT)
    writer.add_name(f"diffchat LoRA r{config['r']}" + (f" for {base_name}" if base_name else ""))
    if base_name:
        writer.add_string("diffchat.base_model", base_name)
    numpy_type = getattr(np, ADAPTER_TYPES[dtype])
    for module, (lora_a, lora_b) in sorted(load_lora_pairs(adapter_dir).items()):
        target = names.get_name(module)
        if target is None:
            raise BadInput(f"no GGUF name for module {module}")
        for suffix, heads in rotary_heads.items():
            if module.endswith(suffix):
                lora_b = rotary_rows(lora_b, heads)
        writer.add_tensor(f"{target}.weight.lora_a", np.ascontiguousarray(lora_a, dtype=numpy_type))
        writer.add_tensor(f"{target}.weight.lora_b", np.ascontiguousarray(lora_b, dtype=numpy_type))
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    partial.replace(out)
    return out
