from pathlib import Path

import pytest

from diffchat_tui.core.errors import ModelError
from diffchat_tui.engines.models import cached_hub_ggufs, read_gguf_string, resolve_llm, shipped_adapter


def test_embedded_resolves_to_the_packaged_smollm2(embedded_path):
    resolved = resolve_llm("embedded")  # the shipped adapter merged into the packaged base (test_gguf_merge.py)
    assert resolved.kind == "embedded" and resolved.lora is None
    assert resolved.path.stat().st_size > 50_000_000
    assert read_gguf_string(resolved.path, "general.architecture") == "llama"
    runtime = resolve_llm("embedded", merge=False)
    assert runtime.path == embedded_path and runtime.lora == shipped_adapter()


def test_a_gguf_path_and_a_lora_adapter(embedded_path):
    adapter = shipped_adapter()  # a model given as --lora is refused: llama.cpp would crash on it
    resolved = resolve_llm(str(embedded_path), lora=str(adapter))
    assert (resolved.kind, resolved.path, resolved.lora) == ("path", embedded_path, adapter)
    assert resolved.name.endswith(f"+{adapter.name}")


def test_missing_and_corrupt_files_are_refused(tmp_path, embedded_path):
    with pytest.raises(ModelError, match="model file not found"):
        resolve_llm(str(tmp_path / "nope.gguf"))
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelError, match="is not a GGUF file"):
        resolve_llm(str(corrupt))
    with pytest.raises(ModelError, match="LoRA adapter file not found"):
        resolve_llm("embedded", lora=str(tmp_path / "adapter.gguf"))


def test_hub_reference_offline_without_cache_is_one_line():
    with pytest.raises(ModelError, match="not in the local cache and HF_HUB_OFFLINE is set") as info:
        resolve_llm("someone/some-model-GGUF/model.Q4_K_M.gguf")
    assert "\n" not in str(info.value)


def test_hub_reference_is_served_from_the_cache_offline(embedded_path):
    # The hub cache layout huggingface_hub itself writes: refs/main names the snapshot.
    from huggingface_hub.constants import HF_HUB_CACHE

    repo = Path(HF_HUB_CACHE) / "models--someone--tiny-GGUF"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snapshot / "tiny.gguf").symlink_to(embedded_path)
    resolved = resolve_llm("someone/tiny-GGUF/tiny.gguf")
    assert resolved.kind == "hub"
    assert resolved.path.resolve() == embedded_path
    assert ("someone/tiny-GGUF/tiny.gguf", snapshot / "tiny.gguf") in cached_hub_ggufs()


def test_base_is_the_embedded_model_without_the_shipped_adapter(embedded_path, tmp_path):
    resolved = resolve_llm("base")
    assert (resolved.kind, resolved.path, resolved.lora, resolved.name) == ("base", embedded_path, None, "base")
    with_adapter = resolve_llm("base", lora=str(shipped_adapter()))
    assert with_adapter.lora == shipped_adapter() and with_adapter.name == f"base+{shipped_adapter().name}"
