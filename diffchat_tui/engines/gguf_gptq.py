"""4-bit rounding that keeps a fine-tune: GPTQ for merged models.

A LoRA changes most weights by less than one 4-bit step, so rounding base + adapter to the nearest
level gives back the base's own levels and erases the fine-tune (measured: a plainly rounded Q4_1
merge answers garbage). GPTQ (Frantar et al., 2022, arXiv 2210.17323) rounds one input column at a
time and moves each rounding error onto the columns not yet rounded, weighted by how the layer's
inputs co-vary on real conversations, so every layer's outputs stay close to the exact merge.
The blocks it writes are ggml's own Q4_0 / Q4_1 layout, which llama.cpp decodes with its fastest kernels.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from diffchat_tui.core.errors import ModelError

GPTQ_TYPES = ("q4_0", "q4_1")
"""The merged weight types rounded with GPTQ: at 4 bits plain rounding loses the fine-tune; at 8 it keeps it."""
BLOCK = 32
"""Weights per ggml Q4 block, each with its own scale (and minimum, for Q4_1)."""
DAMPING = 0.01
"""Added to the Hessian's diagonal, as a share of its mean: the usual GPTQ setting, keeps the inverse stable."""
_HF_TO_GGUF = {  # layers that read the same input share one hook
    "self_attn.q_proj": ("attn_q", "attn_k", "attn_v"),
    "self_attn.o_proj": ("attn_output",),
    "mlp.gate_proj": ("ffn_gate", "ffn_up"),
    "mlp.down_proj": ("ffn_down",),
}


def read_calibration(path: Path) -> list[list[dict[str, str]]]:
    """The conversations of a JSONL file of TRL "messages" rows (`diffchat data calibration` writes one)."""
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read calibration conversations {path}: {exc}") from None
    conversations = [row.get("messages") if isinstance(row, dict) else None for row in rows]
    if not conversations or not all(isinstance(c, list) and c and all(isinstance(m, dict) and "content" in m for m in c) for c in conversations):
        raise ModelError(f"{path} holds no calibration conversations (one {{\"messages\": [...]}} row a line)")
    return conversations


def input_hessians(model_gguf: Path, conversations: Sequence[list[dict[str, str]]]) -> dict[str, np.ndarray]:
    """X^T X / n of the inputs of every linear layer, by GGUF weight name, over the conversations.

    The model runs in transformers (full precision) from an F16/F32 GGUF of the exact merge.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with contextlib.redirect_stderr(io.StringIO()):  # a one-time build shows one notice, not transformers' loading bars
        tokenizer = AutoTokenizer.from_pretrained(model_gguf.parent, gguf_file=model_gguf.name)
        model = AutoModelForCausalLM.from_pretrained(model_gguf.parent, gguf_file=model_gguf.name, dtype=torch.float32).eval()
    sums: dict[tuple[str, ...], torch.Tensor] = {}
    counts: dict[tuple[str, ...], int] = {}

    def collect(names: tuple[str, ...]):
        def hook(_module, args):
            inputs = args[0].detach().reshape(-1, args[0].shape[-1])
            sums[names] = sums.get(names, 0) + inputs.T @ inputs
            counts[names] = counts.get(names, 0) + inputs.shape[0]

        return hook

    handles = []
    for index, layer in enumerate(model.model.layers):
        for hf_name, gguf_names in _HF_TO_GGUF.items():
            names = tuple(f"blk.{index}.{name}.weight" for name in gguf_names)
            try:
                module = layer.get_submodule(hf_name)
            except AttributeError:
                raise ModelError(f"4-bit merges know Llama-style layers, and {model.config.model_type} has no {hf_name}: merge as q8_0") from None
            handles.append(module.register_forward_pre_hook(collect(names)))
    try:
        with torch.inference_mode():
            for conversation in conversations:
                ids = tokenizer.apply_chat_template(conversation, tokenize=True, return_tensors="pt", return_dict=True)["input_ids"]
                model.model(ids)  # the decoder stack only: the output head has no adapter
    finally:
        for handle in handles:
            handle.remove()
    return {name: (total / counts[names]).numpy() for names, total in sums.items() for name in names}


def round_gptq(weights: np.ndarray, hessians: np.ndarray, quant: str) -> np.ndarray:
    """Weights (layers x rows x columns) as ggml Q4_0 / Q4_1 blocks (layers x rows x bytes), rounded with GPTQ.

    Each layer has its own Hessian (layers x columns x columns); layers are stacked so that the loop over
    columns, which is most of the time, runs once for all of them.
    """
    import torch

    if quant not in GPTQ_TYPES:
        raise ModelError(f"GPTQ rounding writes {', '.join(GPTQ_TYPES)}, not {quant}")
    layers, rows, columns = weights.shape
    if columns % BLOCK or hessians.shape != (layers, columns, columns):
        raise ModelError(f"{layers} {rows}x{columns} weights cannot be rounded with {hessians.shape} Hessians in blocks of {BLOCK}")
    work = torch.from_numpy(np.array(weights, dtype=np.float32))
    hessians = torch.from_numpy(np.array(hessians, dtype=np.float32))
    # Each block's grid is fixed from the weights as they are (ggml has one per 32 columns), so the
    # columns can then be rounded in any order: the most active inputs first, while the most columns
    # are left to absorb their errors ("act-order").
    scales, minimums = _grid(work.reshape(layers, rows, columns // BLOCK, BLOCK), quant)
    order = torch.argsort(torch.diagonal(hessians, dim1=1, dim2=2), dim=1, descending=True)
    by_column = order.unsqueeze(1).expand(layers, rows, columns)
    work = work.gather(2, by_column)
    column_scales = scales.repeat_interleave(BLOCK, dim=2).gather(2, by_column)
    column_minimums = minimums.repeat_interleave(BLOCK, dim=2).gather(2, by_column)
    column_steps = torch.where(column_scales == 0, 1.0, column_scales)  # a block of equal weights: any level
    hessians = hessians.gather(1, order.unsqueeze(2).expand(-1, -1, columns)).gather(2, order.unsqueeze(1).expand(-1, columns, -1))
    inverse = _inverse_cholesky(hessians, work)
    levels = torch.zeros(layers, rows, columns)
    for start in range(0, columns, 4 * BLOCK):  # errors go to the later spans in one matrix product per span
        end = min(start + 4 * BLOCK, columns)
        span, span_inverse = work[..., start:end].clone(), inverse[:, start:end, start:end]
        errors = torch.zeros_like(span)
        for offset in range(end - start):
            scale, minimum = column_scales[..., start + offset], column_minimums[..., start + offset]
            level = torch.clamp(torch.round((span[..., offset] - minimum) / column_steps[..., start + offset]), 0, 15)
            levels[..., start + offset] = level
            error = (span[..., offset] - (minimum + scale * level)) / span_inverse[:, offset, offset].unsqueeze(1)
            span[..., offset:] -= error.unsqueeze(2) * span_inverse[:, offset, offset:].unsqueeze(1)
            errors[..., offset] = error
        work[..., end:] -= errors @ inverse[:, start:end, end:]
    levels = torch.empty_like(levels).scatter_(2, by_column, levels)  # back to the weights' own column order
    return _pack(levels.to(torch.uint8).numpy(), scales.numpy(), minimums.numpy(), quant)


def _inverse_cholesky(hessians, weights):
    """The upper Cholesky factors of the damped Hessians' inverses; inputs that never fired are zeroed."""
    import torch

    columns = hessians.shape[-1]
    diagonal = torch.diagonal(hessians, dim1=1, dim2=2)
    dead = diagonal == 0
    diagonal[dead] = 1.0
    weights.masked_fill_(dead.unsqueeze(1), 0.0)
    hessians += DAMPING * diagonal.mean(dim=1).reshape(-1, 1, 1) * torch.eye(columns, dtype=hessians.dtype)
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(hessians))
    return torch.linalg.cholesky(inverse, upper=True)


def _grid(block, quant: str):
    """Each row's step and lowest level for one block, rounded to f16 as ggml stores them (Q4_0: level 8 is zero)."""
    if quant == "q4_1":
        low, high = block.min(dim=-1).values, block.max(dim=-1).values
        return ((high - low) / 15).half().float(), low.half().float()
    extreme = block.gather(-1, block.abs().argmax(dim=-1, keepdim=True)).squeeze(-1)
    scale = (extreme / -8).half().float()
    return scale, -8 * scale


def _pack(levels: np.ndarray, scales: np.ndarray, minimums: np.ndarray, quant: str) -> np.ndarray:
    """ggml's block layout: f16 scale (Q4_1: then f16 minimum), then 16 bytes holding levels j and j+16 in one byte."""
    layers, rows, _ = levels.shape
    halves = levels.reshape(-1, 2, BLOCK // 2)
    packed = halves[:, 0, :] | (halves[:, 1, :] << np.uint8(4))
    parts = [scales.reshape(-1, 1).astype(np.float16).view(np.uint8)]
    if quant == "q4_1":
        parts.append(minimums.reshape(-1, 1).astype(np.float16).view(np.uint8))
    return np.concatenate([*parts, packed], axis=-1).reshape(layers, rows, -1)
