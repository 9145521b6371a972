"""Supervised fine-tuning through TRL's SFTTrainer, configured by YAML whose keys are TRL field names.

A config sets fields of three dataclasses: our `DataArguments`, TRL's `SFTConfig` and TRL's
`ModelConfig` (base model and LoRA settings). Command-line flags override the file, as with
TRL's own scripts. Every row is built by core.prompting through trainer.data.sft_format, so the
model learns exactly the layout inference sends.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import TRAINED_FORMAT
from diffchat_tui.core.text import one_line

RUN_INFO = "diffchat_run.json"
"""What export needs to know about a run: base model, method, prompt format."""
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


def _parser():
    from trl import ModelConfig, SFTConfig, TrlParser

    class OneLineParser(TrlParser):
        """argparse prints usage and exits; we want one line and exit code 2."""

        def error(self, message: str):
            raise BadInput(f"bad training option: {message}")

    return OneLineParser((DataArguments, SFTConfig, ModelConfig))


def cpu_defaults() -> dict[str, Any]:
    """Defaults a config or flag may still override: CPU training needs bf16 off (DESIGN.md §4).

    TRL's activation checkpointing stays on: on 2 CPU cores it measured about 10% faster than off
    (benchmarks/bench_sft.py's setup, LoRA r32 on SmolLM2-135M), although it recomputes each forward.
    """
    import torch

    defaults: dict[str, Any] = {"disable_tqdm": True, "report_to": "none", "model_name_or_path": DEFAULT_BASE}
    defaults["activation_checkpointing"] = True  # TRL's choice, under the name transformers 5 reads without a warning
    if not torch.cuda.is_available():
        defaults |= {"use_cpu": True, "bf16": False, "fp16": False}
    return defaults


def parse_job(config: Path | None, overrides: Sequence[str] = ()) -> SftJob:
    """Config file, then flags, into the three dataclasses; any bad key or value is one BadInput line."""
    import yaml

    parser = _parser()
    parser.set_defaults_with_config(**cpu_defaults())
    args = list(overrides)
    if config is not None:
        if not config.is_file():
            raise BadInput(f"config file not found: {config}")
        try:
            loaded = yaml.safe_load(config.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise BadInput(f"{config} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise BadInput(f"{config} must be a YAML mapping of option names to values")
        known = {action.dest for action in parser._actions}
        unknown = sorted(str(key) for key in loaded if key not in known and key != "env")
        if unknown:
            raise BadInput(f"{config}: unknown key(s) {', '.join(unknown)} (keys are SFTConfig/ModelConfig fields or ours)")
        args = ["--config", str(config), *args]
    try:
        data, training, model = parser.parse_args_and_config(args)
    except (ValueError, TypeError) as exc:  # unknown flags, or a value __post_init__ refuses
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"bad training option: {message}") from None
    if data.train_file is None:
        raise BadInput("no training data: set train_file in the config or pass --train_file FILE")
    if training.output_dir is None:
        raise BadInput("no output folder: set output_dir in the config or pass --output_dir DIR")
    return SftJob(data, training, model)


def checkpoint_to_resume(out: Path, resume: bool) -> str | None:
    """The checkpoint --resume continues from; refuses to resume from nothing or to train over checkpoints."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint = get_last_checkpoint(str(out)) if out.is_dir() else None
    if resume and checkpoint is None:
        raise BadInput(f"nothing to resume: {out} has no checkpoint-* folder")
    if checkpoint is not None and not resume:
        raise BadInput(f"{out} already holds checkpoints; pass --resume to continue, or choose another output_dir")
    return checkpoint


@contextmanager
def options_checked():
    """TRL checks some option combinations only when a trainer is built; those are bad input, not crashes."""
    try:
        yield
    except ValueError as exc:
        raise BadInput(f"bad training option: {one_line(str(exc)) or type(exc).__name__}") from None


def load_rows(path: str, limit: int | None = None, *, drop_heldout: bool) -> tuple[list[dict], int]:
    """TRL prompt/completion rows for a file's records, and how many held-out records were left out.

    Any bad row stops training with its line number: a model silently trained on part of the file is worse.
    """
    from trainer.data.io import load_records
    from trainer.data.sft_format import sft_rows

    file = Path(path)
    if not file.is_file():
        raise BadInput(f"data file not found: {file}")
    loaded = load_records(file)
    if loaded.errors:
        first = loaded.errors[0].located(str(file))
        more = f" (and {len(loaded.errors) - 1} more bad rows; see `diffchat data validate {file}`)" if len(loaded.errors) > 1 else ""
        raise BadInput(f"{first}{more}")
    records = loaded.records
    held = sum(record.heldout for record in records) if drop_heldout else 0
    if drop_heldout:
        records = [record for record in records if not record.heldout]
    records = records[:limit] if limit else records
    if not records:
        raise BadInput(f"{file} has no records to train on")
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


def train(job: SftJob, warn=lambda message: print(f"diffchat: warning: {message}", file=sys.stderr)) -> Path:
    """Run the job; returns the run folder holding the final model or adapter, checkpoints and loss.png."""
    from accelerate import PartialState
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer, get_peft_config

    from trainer.callbacks import LossPlot, RichProgress
    from trainer.hf_base import embedded_gguf_for, resolve_base

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
        out.mkdir(parents=True, exist_ok=True)
        info = {
            "base": base,
            "base_spec": model_args.model_name_or_path or DEFAULT_BASE,
            "base_gguf": str(source) if (source := embedded_gguf_for(base)) else None,
            "method": "lora" if model_args.use_peft else "full",
            "prompt_format": TRAINED_FORMAT,
            "train_file": str(data.train_file),
            "train_rows": len(rows),
        }
        (out / RUN_INFO).write_text(json.dumps(info, indent=2) + "\n")
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out))
    if state.is_main_process:
        tokenizer.save_pretrained(str(out))
    return out


def read_run_info(run: Path) -> dict[str, Any]:
    """A run folder's diffchat_run.json (a checkpoint-N folder uses its run's); BadInput when there is none."""
    info = run / RUN_INFO
    if not info.is_file() and run.name.startswith("checkpoint-"):
        info = run.parent / RUN_INFO
    if not info.is_file():
        raise BadInput(f"{run} is not a training run folder (no {RUN_INFO})")
    try:
        return json.loads(info.read_text())
    except json.JSONDecodeError:
        raise BadInput(f"{info} is corrupt") from None
