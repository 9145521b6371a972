"""A llama.cpp LoRA adapter folded into its base model's weights, written as one GGUF.

llama.cpp applies an adapter at run time as an extra pair of small matrix products per layer,
which costs about a quarter of the decode speed on a CPU. Merged, the model runs as fast as
the base. The merge reads both files with the `gguf` package, adds scale * B @ A to each
adapted weight (scale = alpha / rank, as llama.cpp applies it), and quantizes the result again:
8-bit by plain rounding, 4-bit with GPTQ calibrated on conversations (engines.gguf_gptq).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY
from diffchat_tui.engines.gguf_gptq import GPTQ_TYPES, input_hessians, read_calibration, round_gptq
from diffchat_tui.engines.models import gguf_field, gguf_reader, shipped_calibration

QUANT_TYPES = ("q8_0", "q4_1", "q4_0", "q5_1", "f16")
"""What the merged weights can be stored as (the `gguf` package quantizes these in numpy)."""
MERGED_FROM_KEY = "diffchat.merged_from"
"""Metadata: the base and adapter a merged model was made from, each by name and sha256."""


def merge_lora(
    base: Path, adapter: Path, out: Path, quant: str = "q8_0", calibration: Sequence[list[dict[str, str]]] | None = None
) -> Path:
    """Write base + adapter as one GGUF at out (atomically); raises ModelError when they do not fit together.

    4-bit weights are rounded with GPTQ on calibration (chat conversations; the shipped ones by default).
    """
    import numpy as np
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize, quantize

    if quant not in QUANT_TYPES:
        raise ModelError(f"merged weights can be {', '.join(QUANT_TYPES)}, not {quant}")
    base_reader, adapter_reader = gguf_reader(base, "base model"), gguf_reader(adapter, "LoRA adapter")
    arch = gguf_field(base_reader, "general.architecture")
    if gguf_field(adapter_reader, "adapter.type") != "lora":
        raise ModelError(f"{adapter} is not a LoRA adapter (no adapter.type = lora in its metadata)")
    if gguf_field(adapter_reader, "general.architecture") != arch:
        raise ModelError(f"{adapter} is for {gguf_field(adapter_reader, 'general.architecture')!r} models, {base} is {arch!r}")
    alpha = float(adapter_reader.get_field("adapter.lora.alpha").contents())
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for tensor in adapter_reader.tensors:
        name, _, part = tensor.name.rpartition(".lora_")
        pairs.setdefault(name, {})[part] = np.asarray(tensor.data, dtype=np.float32)
    target = GGMLQuantizationType[quant.upper()]

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    base_tensors = {tensor.name: tensor for tensor in base_reader.tensors}
    if missing := sorted(set(pairs) - set(base_tensors)):
        raise ModelError(f"{adapter} adapts {len(pairs)} tensors but {base} lacks {len(missing)} of them (e.g. {missing[0]})")
    weights = {}
    for name, pair in pairs.items():
        tensor = base_tensors[name]
        weights[name] = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        weights[name] += (alpha / pair["a"].shape[0]) * (pair["b"] @ pair["a"])
    metadata = {MERGED_FROM_KEY: f"{base.name} sha256:{_sha256(base)} + {adapter.name} sha256:{_sha256(adapter)}"}
    if declared := gguf_field(adapter_reader, FORMAT_METADATA_KEY):
        metadata[FORMAT_METADATA_KEY] = declared
    if quant in GPTQ_TYPES:  # the layers' inputs, measured on the exact (f16) merge
        exact = {name: weight.astype(np.float16) for name, weight in weights.items()}
        try:
            _write(partial, base_reader, exact, GGMLQuantizationType.F16, metadata)
            hessians = input_hessians(partial, calibration or read_calibration(shipped_calibration()))
        finally:
            partial.unlink(missing_ok=True)
        stored = _round_calibrated(weights, hessians, quant)
    elif target == GGMLQuantizationType.F16:
        stored = {name: weight.astype(np.float16) for name, weight in weights.items()}
    else:
        stored = {name: quantize(weight, target) for name, weight in weights.items()}
    try:
        _write(partial, base_reader, stored, target, metadata)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    return out


def _write(path: Path, base_reader, stored: dict, target, metadata: dict[str, str]) -> None:
    """The base's metadata and tensors with the stored ones in place of the adapted weights."""
    from gguf import GGUFValueType, GGUFWriter

    writer = GGUFWriter(str(path), gguf_field(base_reader, "general.architecture"))
    try:
        for field in base_reader.fields.values():
            if field.name.startswith("GGUF.") or field.name == "general.architecture":
                continue
            value_type = field.types[0]
            sub_type = field.types[-1] if value_type == GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
        for key, value in metadata.items():
            writer.add_string(key, value)
        for tensor in base_reader.tensors:
            data = stored.get(tensor.name)
            if data is None:
                writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
            else:
                writer.add_tensor(tensor.name, data, raw_shape=data.shape, raw_dtype=target)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


def _round_calibrated(weights: dict, hessians: dict, quant: str) -> dict:
    """GPTQ over each kind of weight (attn_q, ffn_down, ...), all layers of a kind at once."""
    import numpy as np

    kinds: dict[tuple, list[str]] = {}
    for name, weight in weights.items():
        kinds.setdefault((name.split(".")[-2], weight.shape), []).append(name)
    stored = {}
    for names in kinds.values():
        rounded = round_gptq(np.stack([weights[name] for name in names]), np.stack([hessians[name] for name in names]), quant)
        stored.update(zip(names, rounded, strict=True))
    return stored


def _sha256(path: Path) -> str:
    import hashlib

    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
