"""`diffchat train sft` (supervised fine-tuning through TRL) and `diffchat train export` (a run to GGUF for the TUI)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from diffchat_tui.cli.output import note, warn
from diffchat_tui.core.errors import BadInput

SFT_HELP = """Supervised fine-tuning with TRL's SFTTrainer.

Config keys and extra flags are TRL SFTConfig / ModelConfig field names (e.g. --max_steps 300
--learning_rate 5e-4 --use_peft false --model_name_or_path HF_ID), plus ours: train_file,
eval_file, max_train_records. Flags override the file. Works under `accelerate launch -m diffchat_tui train sft ...`.
"""


def sft(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path], typer.Option("--config", help="YAML file of option values.", dir_okay=False)
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in output_dir.")] = False,
) -> None:
    from trainer.sft import parse_job, train

    overrides = list(ctx.args) + (["--resume", "true"] if resume else [])
    job = parse_job(config, overrides)
    out = train(job, warn=warn)
    if os.environ.get("RANK", "0") == "0":  # under accelerate/torchrun only the main process says it
        note(f"trained model in {out}  (export: diffchat train export {out} --to gguf --adapter)")


def export(
    run: Annotated[Path, typer.Argument(help="A training run folder (train sft's output_dir).", file_okay=False)],
    to: Annotated[str, typer.Option("--to", help="Output format; gguf is the one there is.")] = "gguf",
    quant: Annotated[
        Optional[str],
        typer.Option(
            "--quant",
            help="f16, q8_0 or q4_k_m (full model); f16 or f32 (adapter); q8_0, q4_1 or q4_0 (GPTQ on the run's data), q5_1, f16 (merged).",
        ),
    ] = None,
    adapter: Annotated[
        bool, typer.Option("--adapter", help="Write the LoRA as a GGUF adapter for the base GGUF (small).")
    ] = False,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Fold the LoRA into its base GGUF: one file that decodes as fast as the base (--quant q8_0 by default)."),
    ] = False,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="GGUF file to write (default: inside RUN).", dir_okay=False)
    ] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Load it in llama.cpp and generate one edit.")] = True,
) -> None:
    """Export a run to GGUF: a LoRA adapter (--adapter), the LoRA merged into its base (--merge), or a full model.

    Every export is loaded back in llama.cpp and asked for one edit.
    """
    from trainer.export import QUANTS, export_adapter, export_full, export_merged, verify_gguf

    if to != "gguf":
        raise BadInput(f"--to {to}: only gguf is supported")
    if adapter and merge:
        raise BadInput("choose --adapter or --merge, not both")
    quant = quant.lower() if quant else ("q8_0" if merge else "f16")
    if quant not in QUANTS and not merge:
        raise BadInput(f"--quant {quant}: choose one of {', '.join(QUANTS)}")
    if not run.is_dir():
        raise BadInput(f"run folder not found: {run}")
    if merge:
        written = export_merged(run, output, quant)
    elif adapter:
        written = export_adapter(run, output, quant)
    else:
        written = export_full(run, output, quant, log=note)
    size = written.path.stat().st_size / 1e6
    note(f"wrote {written.path} ({size:.1f} MB)")
    if verify:
        check = verify_gguf(written)
        note(f"verified in llama.cpp: {check.source!r} + {check.instruction!r} -> {check.target!r}")
    print(written.path)

