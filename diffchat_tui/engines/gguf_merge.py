"""A llama.cpp LoRA adapter folded into its base model's weights, written as one GGUF.

llama.cpp applies an adapter at run time as an extra pair of small matrix products per layer,
which costs about a quarter of the decode speed on a CPU. Merged, the model runs as fast as
the base. The merge reads both files with the `gguf` package, adds scale * B @ A to each
adapted weight (scale = alpha / rank, as llama.cpp applies it), and quantizes the result again.
"""

from __future__ import annotations

import os
from pathlib import Path

from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY
from diffchat_tui.engines.models import gguf_field, gguf_reader

QUANT_TYPES = ("q8_0", "q4_1", "q4_0", "q5_1", "f16")
"""What the merged weights can be stored as (the `gguf` package quantizes these in numpy)."""
MERGED_FROM_KEY = "diffchat.merged_from"
"""Metadata: the base and adapter a merged model was made from, each by name and sha256."""


def merge_lora(base: Path, adapter: Path, out: Path, quant: str = "q8_0") -> Path:
    """Write base + adapter as one GGUF at out (atomically); raises ModelError when they do not fit together."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFValueType, GGUFWriter
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
    writer = GGUFWriter(str(partial), arch)
    try:
        for field in base_reader.fields.values():
            if field.name.startswith("GGUF.") or field.name == "general.architecture":
                continue
            value_type = field.types[0]
            sub_type = field.types[-1] if value_type == GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
        declared = gguf_field(adapter_reader, FORMAT_METADATA_KEY)
        if declared:
            writer.add_string(FORMAT_METADATA_KEY, declared)
        writer.add_string(MERGED_FROM_KEY, f"{base.name} sha256:{_sha256(base)} + {adapter.name} sha256:{_sha256(adapter)}")
        merged = 0
        for tensor in base_reader.tensors:
            pair = pairs.get(tensor.name)
            if pair is None:
                writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
                continue
            weight = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
            lora_a, lora_b = pair["a"], pair["b"]
            weight += (alpha / lora_a.shape[0]) * (lora_b @ lora_a)
            data = weight.astype(np.float16) if target == GGMLQuantizationType.F16 else quantize(weight, target)
            writer.add_tensor(tensor.name, data, raw_shape=data.shape, raw_dtype=target)
            merged += 1
        if merged != len(pairs):
            raise ModelError(f"{adapter} adapts {len(pairs)} tensors but {base} has only {merged} of them")
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    partial.replace(out)
    return out


def _sha256(path: Path) -> str:
    import hashlib

    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
