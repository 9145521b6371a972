"""The shipped adapter folded into its base: the weights it writes, the file it builds once, what it refuses."""

import os
import time

import pytest

from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY
from diffchat_tui.engines.gguf_merge import MERGED_FROM_KEY, merge_lora
from diffchat_tui.engines.models import embedded_gguf, merged_embedded, read_gguf_string, resolve_llm, shipped_adapter


def test_merged_weights_are_the_base_plus_the_scaled_adapter(tmp_path):
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    adapter = shipped_adapter()
    out = merge_lora(embedded_gguf(), adapter, tmp_path / "merged.gguf", "q8_0")
    base, lora, merged = GGUFReader(embedded_gguf()), GGUFReader(adapter), GGUFReader(out)
    name = "blk.3.attn_q.weight"
    pick = lambda reader, tensor: next(t for t in reader.tensors if t.name == tensor)  # noqa: E731
    a, b = np.asarray(pick(lora, f"{name}.lora_a").data, np.float32), np.asarray(pick(lora, f"{name}.lora_b").data, np.float32)
    alpha = float(lora.get_field("adapter.lora.alpha").contents())
    expected = dequantize(pick(base, name).data, pick(base, name).tensor_type) + (alpha / a.shape[0]) * (b @ a)
    got = dequantize(pick(merged, name).data, pick(merged, name).tensor_type)
    step = np.abs(expected).max(axis=-1, keepdims=True) / 127  # one 8-bit step per row, at most
    assert np.all(np.abs(got - expected) <= step)
    assert not np.allclose(got, dequantize(pick(base, name).data, pick(base, name).tensor_type))  # the fine-tune is there
    untouched = "token_embd.weight"
    assert bytes(pick(merged, untouched).data) == bytes(pick(base, untouched).data)
    assert read_gguf_string(out, FORMAT_METADATA_KEY) == read_gguf_string(adapter, FORMAT_METADATA_KEY)
    assert "sha256:" in read_gguf_string(out, MERGED_FROM_KEY)


def test_embedded_runs_merged_built_once_rebuilt_when_the_adapter_changes_and_unused_merges_go(temp_home, tmp_path):
    notes = []
    first = resolve_llm("embedded", notice=notes.append)
    assert first.lora is None and first.name == "embedded" and first.path.parent == temp_home / "cache" / "models"
    again = resolve_llm("embedded", notice=notes.append)
    assert again.path == first.path and again.path.stat().st_mtime_ns == first.path.stat().st_mtime_ns
    assert len(notes) <= 1  # told once, when it was built (another test may have built it already)
    runtime = resolve_llm("embedded", merge=False)
    assert runtime.path == embedded_gguf() and runtime.lora == shipped_adapter()

    hours_ago = time.time() - 2 * 3600
    os.utime(first.path, (hours_ago, hours_ago))
    assert resolve_llm("embedded").path == first.path and first.path.stat().st_mtime > hours_ago  # marked as used

    models = first.path.parent
    week_ago = time.time() - 7 * 86_400
    stale = [models / "embedded-0123456789abcdef.gguf", models / ".embedded-0123456789abcdef.gguf.999.tmp"]
    recent = models / "embedded-fedcba9876543210.gguf"
    for path in [*stale, recent]:
        path.write_bytes(b"GGUF")
    for path in stale:
        os.utime(path, (week_ago, week_ago))
    copy = tmp_path / "adapter.gguf"
    copy.write_bytes(shipped_adapter().read_bytes())
    rebuilt = merged_embedded(copy)
    assert rebuilt != first.path  # another input, another file
    assert not any(path.exists() for path in stale)  # a new merge clears those unused for a day
    assert recent.exists() and first.path.exists() and rebuilt.exists()


def test_merging_what_does_not_fit_is_one_clear_error(tmp_path):
    with pytest.raises(ModelError, match="not a LoRA adapter"):
        merge_lora(embedded_gguf(), embedded_gguf(), tmp_path / "x.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + bytes(range(256)) * 4)
    with pytest.raises(ModelError, match="cannot read"):
        merge_lora(embedded_gguf(), junk, tmp_path / "y.gguf")
    with pytest.raises(ModelError, match="merged weights can be"):
        merge_lora(embedded_gguf(), shipped_adapter(), tmp_path / "z.gguf", "q2_k")
    assert not list(tmp_path.glob(".*.tmp"))


WIDE_MARGIN_EDITS = [
    ("a cat on a sofa", "make the cat black"),
    ("a cat on a sofa", "remove the sofa"),
    ("a cat on a sofa", "add a red hat"),
    ("1girl, solo, long hair, (smile:1.2), <lora:detail:0.5>", "remove the smile"),
]
"""Edits whose first script line wins by at least 2 nats at every token, merged and at run time (measured)."""


def test_the_4_bit_embedded_merge_decodes_like_the_base_and_edits_as_the_runtime_adapter_does(temp_home):
    from gguf import GGUFReader

    from diffchat_tui.engines.editor import Editor
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine

    four_bit = resolve_llm("embedded", merged_quant="q4_1")
    assert four_bit.path != resolve_llm("embedded").path  # the 8-bit default is another file
    merged = {tensor.name: tensor.tensor_type.name for tensor in GGUFReader(four_bit.path).tensors}
    base = {tensor.name: tensor.tensor_type.name for tensor in GGUFReader(embedded_gguf()).tensors}
    assert merged == base  # every weight stored as the base's is: it decodes as fast
    runtime, quantized = LlamaCppEngine(resolve_llm("embedded", merge=False)), LlamaCppEngine(four_bit)
    for source, instruction in WIDE_MARGIN_EDITS:
        expected = Editor(runtime).edit(source, instruction).script.splitlines()[0]
        assert Editor(quantized).edit(source, instruction).script.splitlines()[0] == expected
    with pytest.raises(ModelError, match="q8_0 or q4_1, not q2_k"):
        resolve_llm("embedded", merged_quant="q2_k")
