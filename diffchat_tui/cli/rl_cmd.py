"""`diffchat train rl`: RL with aesthetic, preference and content-integrity feedback (DPO or GRPO through TRL)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

RL_HELP = (  # rich help keeps every newline, so each paragraph is one unbroken string
    "RL after SFT: DPO on ADM-sampled, CI-gated pairs (default), or online GRPO.\n\n"
    "Config keys and extra flags are TRL DPOConfig / GRPOConfig / ModelConfig field names (e.g. --max_steps 60 "
    "--beta 0.1 --model_name_or_path runs/sft), plus ours: train_file, max_requests, k_plain, k_positive, k_negative, "
    "weight_aesthetic, weight_preference, weight_integrity, weight_text, ci_threshold, pair_margin, image_model, "
    "tiny_scorers and more (see trainer/configs/rl.yaml). Without image_model the rewards are text-only.\n\n"
    "Works under `accelerate launch -m diffchat_tui train rl ...`.\n"
)


def rl(
    ctx: typer.Context,
    algo: Annotated[str, typer.Option("--algo", help="dpo (off-policy pairs) or grpo (online).")] = "dpo",
    config: Annotated[Optional[Path], typer.Option("--config", help="YAML file of option values.", dir_okay=False)] = None,
    data: Annotated[
        Optional[Path], typer.Option("--data", help="InstructPE records, or a prefs JSONL from `diffchat data prefs`.", dir_okay=False)
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last checkpoint in output_dir.")] = False,
) -> None:
    from trainer.rl.train import parse_job, train

    overrides = list(ctx.args) + (["--train_file", str(data)] if data else []) + (["--resume", "true"] if resume else [])
    job = parse_job(algo.lower(), config, overrides)
    out = train(job)
    if os.environ.get("RANK", "0") == "0":  # under accelerate/torchrun only the main process says it
        print(f"diffchat: trained model in {out}  (export: diffchat train export {out} --to gguf --adapter)", file=sys.stderr)

