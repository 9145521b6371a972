"""Supervised fine-tuning through TRL's SFTTrainer, configured by YAML whose keys are TRL field names.

A config sets fields of three dataclasses: our `DataArguments`, TRL's `SFTConfig` and TRL's
`ModelConfig` (base model and LoRA settings). Command-line flags override the file, as with
TRL's own scripts. Every row is built by core.prompting through trainer.data.sft_format, so the
model learns exactly the layout inference sends. What SFT shares with RL and export is in trainer/jobs.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffchat_tui.core.errors import BadInput
from trainer.data.sft_format import sft_rows
from trainer.hf_base import embedded_gguf_for, resolve_base
from trainer.jobs import checkpoint_to_resume, load_training_records, options_checked, parse_options, write_run_info

DEFAULT_BASE = "embedded"


@dataclass
class DataArguments:
    """Our own config keys, next to TRL's."""

    train_file: str | None = field(default=None, metadata={"help": "InstructPE JSON/JSONL file to train on."})
    eval_file: str | None = field(default=None, metadata={"help": "Optional InstructPE file for eval loss."})
    max_train_records: int | None = field(default=None, metadata={"help": "Use only the first N training records."})
    resume: bool = field(default=False, metadata={"help": "Continue from the last checkpoint in output_dir."})


@dataclass
class SftJob:
    data: DataArguments
    training: Any
    """trl.SFTConfig"""
    model: Any
    """trl.ModelConfig"""


def parse_job(config: Path | None, overrides: Sequence[str] = ()) -> SftJob:
    """Config file, then flags, into the three dataclasses; any bad key or value is one BadInput line."""
    from trl import ModelConfig, SFTConfig

    data, training, model = parse_options(
        (DataArguments, SFTConfig, ModelConfig), config, overrides, hint="keys are SFTConfig/ModelConfig fields or ours"
    )
    if data.train_file is None:
        raise BadInput("no training data: set train_file in the config or pass --train_file FILE")
    if training.output_dir is None:
        raise BadInput("no output folder: set output_dir in the config or pass --output_dir DIR")
    return SftJob(data, training, model)


def load_rows(path: str, limit: int | None = None, *, drop_heldout: bool) -> tuple[list[dict], int]:
    """TRL prompt/completion rows for a file's records, and how many held-out records were left out."""
    records, held = load_training_records(path, limit, drop_heldout=drop_heldout)
    return sft_rows(records), held


def _load_model(job: SftJob, base: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_args = job.model
    dtype = model_args.dtype if model_args.dtype not in (None, "auto") else None
    if dtype is None:  # fp32 on CPU; bf16 where the GPU has it
        dtype = torch.bfloat16 if job.training.bf16 and torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(
        base,
        revision=model_args.model_revision,
        dtype=dtype,
        attn_implementation=model_args.attn_implementation,
    )
    tokenizer = AutoTokenizer.from_pretrained(base, revision=model_args.model_revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def train(job: SftJob, warn: Callable[[str], None] = lambda message: None) -> Path:
    """Run the job; returns the run folder holding the final model or adapter, checkpoints and loss.png."""
    from accelerate import PartialState
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer, get_peft_config

    from trainer.callbacks import LossPlot, RichProgress  # imports transformers

    training, model_args, data = job.training, job.model, job.data
    out = Path(training.output_dir)
    checkpoint = checkpoint_to_resume(out, data.resume)
    if model_args.use_peft and model_args.use_dora:
        raise BadInput("DoRA adapters cannot be exported to GGUF; drop use_dora")

    rows, held = load_rows(data.train_file, data.max_train_records, drop_heldout=True)
    if held:
        warn(f"{held} held-out records in {data.train_file} were left out of training (they measure generalization)")
    eval_rows = load_rows(data.eval_file, drop_heldout=False)[0] if data.eval_file else None
    state = PartialState()
    with state.main_process_first():  # one process dequantizes the base; the others find it cached
        base = resolve_base(model_args.model_name_or_path or DEFAULT_BASE)
    model, tokenizer = _load_model(job, base)

    with options_checked():
        trainer = SFTTrainer(
            model=model,
            args=training,
            train_dataset=Dataset.from_list(rows),
            eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
            processing_class=tokenizer,
            peft_config=get_peft_config(model_args) if model_args.use_peft else None,
            callbacks=[RichProgress(), LossPlot()],
        )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the progress bar shows the loss
    if state.is_main_process:
        write_run_info(out, base=base, base_spec=model_args.model_name_or_path or DEFAULT_BASE, base_gguf=embedded_gguf_for(base),
                       method="lora" if model_args.use_peft else "full", train_file=data.train_file, train_rows=len(rows))  # fmt: skip
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out))
    if state.is_main_process:
        tokenizer.save_pretrained(str(out))
    return out
