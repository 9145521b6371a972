"""What every training job shares: options from YAML and flags, the training records, and the run folder.

SFT, RL and export build on this module and never on each other. A job's options are fields of
dataclasses (ours next to TRL's configs); a YAML file sets them, flags override the file, and
anything wrong is one BadInput line (exit 2), never argparse's usage text or a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import TRAINED_FORMAT
from diffchat_tui.core.text import first_line, one_line
from trainer.data.io import load_records
from trainer.data.schema import Record

RUN_INFO = "diffchat_run.json"
"""What export (and RL starting from a run) needs to know about a run: base model, method, prompt format."""


# -- options ----------------------------------------------------------------------------------------


def cpu_defaults() -> dict[str, Any]:
    """Defaults a config or flag may still override. Without a GPU, TRL needs bf16 off as well as use_cpu.

    TRL's activation checkpointing stays on: on 2 CPU cores it measured about 10% faster than off
    (benchmarks/bench_sft.py's setup, LoRA r32 on SmolLM2-135M), although it recomputes each forward.
    """
    import torch

    defaults: dict[str, Any] = {"disable_tqdm": True, "report_to": "none", "model_name_or_path": "embedded"}
    defaults["activation_checkpointing"] = True  # TRL's choice, under the name transformers 5 reads without a warning
    if not torch.cuda.is_available():
        defaults |= {"use_cpu": True, "bf16": False, "fp16": False}
    return defaults


def one_line_parser(dataclass_types: Sequence[type]):
    """TRL's option parser for these dataclasses, except that a bad flag is one BadInput line."""
    from trl import TrlParser

    class OneLineParser(TrlParser):
        def error(self, message: str):  # argparse would print its usage and exit
            raise BadInput(f"bad training option: {message}")

    return OneLineParser(tuple(dataclass_types))


def option_names(dataclass_types: Sequence[type]) -> set[str]:
    """Every key a config may set: the dataclasses' fields (each is also a --flag)."""
    return {each.name for kind in dataclass_types for each in dataclasses.fields(kind) if each.init}


def read_config(config: Path, sections: Sequence[str] = (), section: str | None = None) -> dict[str, Any]:
    """A YAML mapping of option values; the keys under `section` win over the shared ones.

    `env:` sets environment variables, as in TRL's own configs; the other `sections` are dropped.
    """
    if not config.is_file():
        raise BadInput(f"config file not found: {config}")
    try:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BadInput(f"{config} is not valid YAML: {first_line(exc)}") from None
    if not isinstance(loaded, dict) or not all(isinstance(loaded.get(name) or {}, dict) for name in (*sections, "env")):
        where = f", with optional {' and '.join(f'{name}:' for name in sections)} sections" if sections else ""
        raise BadInput(f"{config} must be a YAML mapping of option names to values{where}")
    for key, value in (loaded.get("env") or {}).items():
        os.environ[str(key)] = str(value)
    values = {key: value for key, value in loaded.items() if key not in (*sections, "env")}
    return values | ((loaded.get(section) or {}) if section else {})


def parse_options(
    dataclass_types: Sequence[type],
    config: Path | None,
    overrides: Sequence[str] = (),
    *,
    sections: Sequence[str] = (),
    section: str | None = None,
    hint: str,
) -> tuple:
    """CPU defaults, then the config file, then flags, into one instance of each dataclass.

    hint says where the keys come from, for the one line that lists keys nobody knows.
    """
    values = read_config(config, sections, section) if config is not None else {}
    unknown = sorted(str(key) for key in values if key not in option_names(dataclass_types))
    if unknown:
        scope = f" for {section}:" if section else ""
        raise BadInput(f"{config}: unknown key(s){scope} {', '.join(unknown)} ({hint})")
    parser = one_line_parser(dataclass_types)
    parser.set_defaults_with_config(**(cpu_defaults() | values))
    try:
        return tuple(parser.parse_args_into_dataclasses(list(overrides)))
    except (ValueError, TypeError) as exc:  # unknown flags, or a value __post_init__ refuses
        raise BadInput(f"bad training option: {one_line(first_line(exc))}") from None


@contextmanager
def options_checked() -> Iterator[None]:
    """TRL checks some option combinations only when a trainer is built; those are bad input, not crashes."""
    try:
        yield
    except ValueError as exc:
        raise BadInput(f"bad training option: {one_line(str(exc)) or type(exc).__name__}") from None


# -- data -------------------------------------------------------------------------------------------


def load_training_records(path: str | Path, limit: int | None = None, *, drop_heldout: bool = True) -> tuple[list[Record], int]:
    """The records to train on, and how many held-out ones were left out.

    Any bad row stops the job with its line number: a model silently trained on part of the file is worse.
    """
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
        raise BadInput(f"{file} has no records to train on" + (" (only held-out ones, which are never trained on)" if held else ""))
    return records, held


# -- the run folder ---------------------------------------------------------------------------------


def checkpoint_to_resume(out: Path, resume: bool) -> str | None:
    """The checkpoint --resume continues from; refuses to resume from nothing or to train over checkpoints."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint = get_last_checkpoint(str(out)) if out.is_dir() else None
    if resume and checkpoint is None:
        raise BadInput(f"nothing to resume: {out} has no checkpoint-* folder")
    if checkpoint is not None and not resume:
        raise BadInput(f"{out} already holds checkpoints; pass --resume to continue, or choose another output_dir")
    return checkpoint


def write_run_info(
    out: Path, *, base: str, base_spec: str, base_gguf: Path | None, method: str, train_file: str, train_rows: int, **extra: Any
) -> None:
    """diffchat_run.json: what export needs (base, its GGUF, lora or full, prompt format), plus what the job adds."""
    info = {"base": base, "base_spec": base_spec, "base_gguf": str(base_gguf) if base_gguf else None, "method": method,
            "prompt_format": TRAINED_FORMAT, "train_file": str(train_file), "train_rows": train_rows, **extra}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_INFO).write_text(json.dumps(info, indent=2) + "\n")


def is_run(folder: Path) -> bool:
    return (folder / RUN_INFO).is_file()


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
