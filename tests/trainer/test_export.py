"""`train export`: our GGUF LoRA writer, checked against HF in real llama.cpp; the full path's offline failure."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from diffchat_tui.core.prompting import FORMAT_METADATA_KEY
from diffchat_tui.engines.models import read_gguf_string
from trainer.export import Exported, ExportError, add_metadata, converter_script, export_adapter, verify_gguf

TEXT = "a fisherman on a wooden pier with seagulls, golden hour, oil painting"


def test_adapter_export_has_llama_cpp_metadata_and_generates(tiny_run, embedded_path):
    exported = export_adapter(tiny_run)
    assert exported.base_gguf == embedded_path
    expected = {"general.type": "adapter", "adapter.type": "lora", "general.architecture": "llama", FORMAT_METADATA_KEY: "diffchat-v2"}
    for key, value in expected.items():
        assert read_gguf_string(exported.path, key) == value
    from gguf import GGUFReader

    reader = GGUFReader(exported.path)
    assert reader.get_field("adapter.lora.alpha").contents() == 8.0
    names = {tensor.name for tensor in reader.tensors}
    assert "blk.0.attn_q.weight.lora_a" in names and "blk.29.ffn_down.weight.lora_b" in names and len(names) == 30 * 7 * 2
    checked = verify_gguf(exported)
    assert checked.prompt_format == "diffchat-v2" and checked.target


def _logit_deltas(hf_base, adapter_dir, adapter_gguf, embedded_path):
    """(HF merged - HF base, llama.cpp with adapter - llama.cpp base) logits on the same tokens."""
    import llama_cpp
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ids = AutoTokenizer.from_pretrained(hf_base)(TEXT).input_ids
    model = AutoModelForCausalLM.from_pretrained(hf_base, dtype=torch.float32)
    with torch.no_grad():
        base = model(torch.tensor([ids])).logits[0].numpy()
        merged = PeftModel.from_pretrained(model, adapter_dir)(torch.tensor([ids])).logits[0].numpy()

    def llama_logits(lora):
        llama = llama_cpp.Llama(model_path=str(embedded_path), lora_path=lora, logits_all=True, n_ctx=128, verbose=False)
        llama.eval(ids)
        return np.array(llama.scores[: len(ids)])

    return merged - base, llama_logits(str(adapter_gguf)) - llama_logits(None)


@pytest.fixture(scope="module")
def qk_lora(hf_base, tmp_path_factory):
    """A random LoRA on q_proj and k_proj only, large enough to move the logits: where row order matters."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(hf_base, dtype=torch.float32),
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj"], init_lora_weights=False),
    )
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            parameter.data *= 3.0
    folder = tmp_path_factory.mktemp("qk-lora")
    model.save_pretrained(folder)
    return folder


def test_q_and_k_rows_are_permuted_like_llama_cpp_does(qk_lora, hf_base, embedded_path, tmp_path, monkeypatch):
    from trainer import gguf_lora

    config = json.loads((hf_base / "config.json").read_text())
    right = gguf_lora.write_lora_gguf(qk_lora, config, tmp_path / "right.gguf")
    monkeypatch.setattr(gguf_lora, "rotary_rows", lambda weight, heads: weight)  # the mistake this guards against
    wrong = gguf_lora.write_lora_gguf(qk_lora, config, tmp_path / "wrong.gguf")

    hf_delta, llama_delta = _logit_deltas(hf_base, qk_lora, right, embedded_path)
    assert np.corrcoef(hf_delta.ravel(), llama_delta.ravel())[0, 1] > 0.95
    _, wrong_delta = _logit_deltas(hf_base, qk_lora, wrong, embedded_path)
    assert np.corrcoef(hf_delta.ravel(), wrong_delta.ravel())[0, 1] < 0.7


def test_a_full_run_cannot_be_exported_as_an_adapter(tmp_path):
    from diffchat_tui.core.errors import BadInput

    (tmp_path / "diffchat_run.json").write_text(json.dumps({"method": "full", "base": "x"}))
    with pytest.raises(BadInput, match="full fine-tune"):
        export_adapter(tmp_path)


def test_prompt_format_key_is_added_to_a_full_gguf(embedded_path, tmp_path):
    tagged = add_metadata(embedded_path, tmp_path / "tagged.gguf", {FORMAT_METADATA_KEY: "diffchat-v2"})
    assert read_gguf_string(tagged, FORMAT_METADATA_KEY) == "diffchat-v2"
    assert read_gguf_string(tagged, "tokenizer.chat_template") == read_gguf_string(embedded_path, "tokenizer.chat_template")
    assert verify_gguf(Exported(tagged)).target


def test_full_export_without_network_fails_in_one_line(monkeypatch, tmp_path):
    # The converter comes from the llama-cpp-python sdist, fetched once; no index here stands in for no network.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(ExportError) as caught:
        converter_script()
    assert "needs network once" in str(caught.value) and "\n" not in str(caught.value)


def test_export_cli_writes_and_verifies_an_adapter(cli, tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("checkpoint-*"))
    out = tmp_path / "out.gguf"
    result = cli("train", "export", str(run), "--to", "gguf", "--adapter", "-o", str(out))
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == str(out) and "verified in llama.cpp" in result.stderr
    bad = cli("train", "export", str(run), "--quant", "q3")
    assert bad.code == 2 and len(bad.stderr_lines) == 1 and "--quant q3" in bad.stderr


def test_a_merged_export_is_4_bit_calibrated_on_the_runs_own_conversations(tiny_run, tiny_data, tmp_path, monkeypatch):
    from gguf import GGUFReader

    import diffchat_tui.engines.gguf_merge as gguf_merge
    from trainer.export import export_merged

    seen = []
    real = gguf_merge.input_hessians
    monkeypatch.setattr(gguf_merge, "input_hessians", lambda model, conversations: seen.append(conversations) or real(model, conversations))
    exported = export_merged(tiny_run, tmp_path / "merged.gguf", "q4_1")
    types = {tensor.name: tensor.tensor_type.name for tensor in GGUFReader(exported.path).tensors}
    assert types["blk.0.attn_q.weight"] == types["blk.29.ffn_down.weight"] == "Q4_1"
    first_record = json.loads(tiny_data["train"].read_text().splitlines()[0])
    assert len(seen) == 1 and first_record["instruction"] in seen[0][0][-2]["content"]  # the run's first training turn
    assert verify_gguf(exported).target  # it loads in llama.cpp and edits
