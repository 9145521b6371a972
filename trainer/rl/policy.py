"""The RL starting policy, two views of one model: trainable HF weights, and GGUF files llama.cpp samples from.

A spec is what `model_name_or_path` says: `embedded` (the shipped DiffChat model: the embedded base
plus the shipped LoRA adapter, or the bare base when none is shipped), `base`, an SFT/RL run folder,
an HF folder or hub id, or a .gguf file. A GGUF LoRA adapter is read back into a PEFT folder (the
inverse of trainer.gguf_lora), so RL can start from the shipped model on a fresh clone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from diffchat_tui.core.errors import BadInput
from diffchat_tui.engines.models import BASE, EMBEDDED, ResolvedModel, check_gguf, embedded_gguf, resolve_llm, shipped_adapter
from trainer.export import export_adapter
from trainer.gguf_lora import SUPPORTED_ARCHS
from trainer.hf_base import cached_base_dir, dequantize_gguf, resolve_base
from trainer.jobs import is_run, read_run_info

LORA_MODULES = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")  # fmt: skip
START_ADAPTER = "start-adapter"
"""Folder (inside the RL run) holding the starting LoRA as PEFT files."""


@dataclass(frozen=True)
class Policy:
    """Where the starting policy's trainable weights and its GGUF sampler come from."""

    spec: str
    base: str
    """HF folder or hub id of the base weights."""
    adapter: Path | None
    """A PEFT LoRA folder to continue training, or None for a full model (or a fresh LoRA)."""
    base_gguf: Path | None
    """The GGUF the adapter applies to in llama.cpp (what export writes the adapter for)."""
    sampler_lora: Path | None = None
    """A GGUF adapter for sampling, when the spec already has one (the shipped model)."""


def unrotate_rows(weight, n_head: int):
    """Undo trainer.gguf_lora.rotary_rows: llama.cpp's per-head q/k row order back to HF's."""
    rows = weight.shape[0]
    return weight.reshape(n_head, rows // n_head // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def import_lora_gguf(adapter: Path, base_config: dict, out: Path) -> Path:
    """Write a llama.cpp LoRA adapter GGUF as a PEFT folder (adapter_config.json + adapter_model.safetensors)."""
    import gguf
    import torch
    from peft import LoraConfig
    from safetensors.torch import save_file

    if (out / "adapter_model.safetensors").is_file():
        return out
    model_type = base_config.get("model_type")
    if model_type not in SUPPORTED_ARCHS:
        raise BadInput(f"adapter import supports llama-architecture models, not {model_type!r}")
    layers = int(base_config["num_hidden_layers"])
    names = gguf.TensorNameMap(getattr(gguf.MODEL_ARCH, SUPPORTED_ARCHS[model_type]), layers)
    to_hf = {}
    for layer in range(layers):
        for module in LORA_MODULES:
            hf = f"model.layers.{layer}.{module}"
            to_hf[names.get_name(hf)] = (hf, module)
    n_head = int(base_config["num_attention_heads"])
    heads = {"self_attn.q_proj": n_head, "self_attn.k_proj": int(base_config.get("num_key_value_heads") or n_head)}

    reader = gguf.GGUFReader(adapter)
    alpha_field = reader.get_field(gguf.Keys.Adapter.LORA_ALPHA)
    tensors, modules, rank = {}, set(), None
    for tensor in reader.tensors:
        stem, _, part = tensor.name.rpartition(".weight.lora_")
        if part not in ("a", "b") or stem not in to_hf:
            raise BadInput(f"{adapter}: unexpected tensor {tensor.name}; is it a LoRA adapter for this base?")
        hf, module = to_hf[stem]
        shape = [int(size) for size in reversed(tensor.shape)]  # GGUF lists dimensions innermost first
        value = torch.from_numpy(tensor.data.reshape(shape).astype("float32"))
        if part == "b" and module in heads:
            value = torch.from_numpy(unrotate_rows(value.numpy(), heads[module]).copy())
        rank = value.shape[0] if part == "a" else value.shape[1]
        tensors[f"base_model.model.{hf}.lora_{part.upper()}.weight"] = value.contiguous()
        modules.add(module.split(".")[-1])
    if not tensors or rank is None:
        raise BadInput(f"{adapter} holds no LoRA tensors")
    alpha = float(alpha_field.contents()) if alpha_field is not None else float(rank)
    partial = out.with_name(f".{out.name}.tmp")
    partial.mkdir(parents=True, exist_ok=True)
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=sorted(modules), task_type="CAUSAL_LM")
    config.save_pretrained(str(partial))
    save_file(tensors, str(partial / "adapter_model.safetensors"))
    partial.rename(out)
    return out


def resolve_policy(spec: str, run_dir: Path) -> Policy:
    """The starting policy for a spec; a GGUF adapter is imported into run_dir/start-adapter."""
    spec = (spec or EMBEDDED).strip()
    if spec in (EMBEDDED, BASE):
        gguf_file = embedded_gguf()
        base = str(dequantize_gguf(gguf_file, cached_base_dir(gguf_file)))
        shipped = shipped_adapter() if spec == EMBEDDED else None
        if shipped is None:
            return Policy(spec, base, None, gguf_file)
        config = json.loads((Path(base) / "config.json").read_text())
        adapter = import_lora_gguf(shipped, config, run_dir / START_ADAPTER)
        return Policy(spec, base, adapter, gguf_file, sampler_lora=shipped)
    path = Path(spec).expanduser()
    if is_run(path):
        info = read_run_info(path)
        gguf_file = Path(info["base_gguf"]) if info.get("base_gguf") else None
        if info.get("method") == "lora":
            if not (path / "adapter_model.safetensors").is_file():
                raise BadInput(f"{path} has no final adapter yet (adapter_model.safetensors); did training finish?")
            return Policy(spec, info["base"], path, gguf_file)
        return Policy(spec, str(path), None, None)
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise BadInput(f"policy model file not found: {path}")
        return Policy(spec, str(dequantize_gguf(path, cached_base_dir(path))), None, path)
    return Policy(spec, resolve_base(spec), None, None)


def sampler_model(policy: Policy, run_dir: Path, override: str | None = None):
    """GGUF files for llama.cpp that hold the same weights as the policy (a ResolvedModel)."""
    if override:
        model, plus, adapter = override.rpartition("+")
        if plus and adapter.endswith(".gguf"):
            return resolve_llm(model, lora=adapter)
        return resolve_llm(override)
    if policy.base_gguf is None:
        raise BadInput(
            f"cannot sample from {policy.spec} with llama.cpp: it has no GGUF form; "
            "export it (diffchat train export RUN --to gguf) and pass --sampler_model FILE.gguf"
        )
    if policy.adapter is None:
        return ResolvedModel(str(policy.base_gguf), "path", check_gguf(policy.base_gguf))
    lora = policy.sampler_lora
    if lora is None:  # an SFT run's adapter: write it as GGUF the same way `train export --adapter` does
        lora = run_dir / "start-adapter.gguf"
        if not lora.is_file():
            export_adapter(policy.adapter, lora, "f16", policy.base_gguf)
    return ResolvedModel(str(policy.base_gguf), "path", check_gguf(policy.base_gguf), check_gguf(lora, "LoRA adapter"))
