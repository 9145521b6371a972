"""A real, tiny SFT run on the embedded SmolLM2, made once per test session and shared by the trainer tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def hf_base(tmp_path_factory) -> Path:
    """The embedded GGUF dequantized into a plain HF folder (what `model_name_or_path: embedded` caches)."""
    from diffchat_tui.engines.models import embedded_gguf
    from trainer.hf_base import dequantize_gguf

    return dequantize_gguf(embedded_gguf(), tmp_path_factory.mktemp("hf") / "smollm2")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """Builder records split into train and test JSONL (the test file has held-out records)."""
    from trainer.data.builder import build
    from trainer.data.io import write_jsonl

    folder = tmp_path_factory.mktemp("data")
    records = [draft.record for draft in build(40, seed=3, heldout_frac=0.5)]
    train = [record for record in records if not record.heldout][:16]
    test = [record for record in records if record.heldout][:2] + [record for record in records if not record.heldout][-2:]
    write_jsonl(folder / "train.jsonl", train)
    write_jsonl(folder / "test.jsonl", test)
    return {"train": folder / "train.jsonl", "test": folder / "test.jsonl"}


TINY_OVERRIDES = [
    "--max_steps", "2", "--per_device_train_batch_size", "2", "--max_length", "128",
    "--save_steps", "1", "--logging_steps", "1", "--lora_r", "4", "--lora_alpha", "8",
    "--learning_rate", "1e-3", "--warmup_steps", "0",
]  # fmt: skip


def run_sft(base: Path, train: Path, out: Path, *extra: str) -> Path:
    from trainer.sft import parse_job
    from trainer.sft import train as run_training

    config = Path(__file__).resolve().parents[2] / "trainer" / "configs" / "diffchat-135m.yaml"
    job = parse_job(config, ["--model_name_or_path", str(base), "--train_file", str(train), "--output_dir", str(out), *TINY_OVERRIDES, *extra])
    return run_training(job)


@pytest.fixture(scope="session")
def tiny_run(hf_base, tiny_data, tmp_path_factory) -> Path:
    """Two real TRL SFTTrainer steps of a LoRA (all 7 linear modules) over SmolLM2."""
    return run_sft(hf_base, tiny_data["train"], tmp_path_factory.mktemp("runs") / "tiny")
