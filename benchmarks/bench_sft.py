"""`diffchat train sft` against a bare TRL SFTTrainer script on the same rows, model and LoRA (budgets: docs/design.md §7).

Both train on the same steps × batch rows, each seen once; the figure is those rows' tokens (as TRL
tokenizes them) per second of the training loop (train_runtime), so loading and saving are left out.
Neither packing nor padding-free batching is used (TRL's padding_free refuses a max_length without packing,
and packing would change which rows a step sees), so there is no gain from them to report.
Prints medians and the ratio measured in this one run; exits 1 when the budget (>= 1.0) is missed.
Run: .venv/bin/python benchmarks/bench_sft.py   (about 5 min on 2 cores; nothing else may use the cores)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# The baseline: what someone would write with TRL alone. TRL's own defaults, except what a CPU demands.
BARE_SCRIPT = r"""
import json, sys
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
spec = json.load(open(sys.argv[1]))
tokenizer = AutoTokenizer.from_pretrained(spec["base"])
tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
args = SFTConfig(output_dir=spec["out"], max_steps=spec["steps"], per_device_train_batch_size=spec["batch"],
                 max_length=spec["max_length"], learning_rate=spec["lr"], use_cpu=True, bf16=False, report_to="none",
                 save_strategy="no", disable_tqdm=True, seed=0)
lora = LoraConfig(r=spec["lora_r"], lora_alpha=spec["lora_alpha"], target_modules=spec["targets"], task_type="CAUSAL_LM")
trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(spec["base"]), args=args, processing_class=tokenizer,
                     train_dataset=Dataset.from_list(spec["rows"]), peft_config=lora)
metrics = trainer.train().metrics
tokens = sum(len(row["input_ids"]) for row in trainer.train_dataset)
print(json.dumps({"tokens": tokens, "seconds": metrics["train_runtime"]}))
"""


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"bench_sft: {' '.join(command[:4])} failed:\n{proc.stderr[-2000:]}")
    return proc


def train_runtime(stderr: str) -> float:
    """Trainer's train_runtime, from the last progress line `train sft` prints."""
    return float(re.findall(r"train_runtime ([0-9.]+)", stderr)[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="trainer/configs/diffchat-135m.yaml", help="the SFT config both follow")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import yaml

    from trainer.data.io import load_records
    from trainer.data.sft_format import sft_rows
    from trainer.hf_base import resolve_base

    config = yaml.safe_load(Path(args.config).read_text())
    base = resolve_base(config.get("model_name_or_path", "embedded"))  # dequantized once, outside the timing
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE", "TRANSFORMERS_VERBOSITY": "error"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "data.jsonl"
        run([str(bin_dir / "diffchat"), "data", "build", "--n", "300", "--seed", "0", "-o", str(data)], env)
        rows_used = args.steps * config["per_device_train_batch_size"]  # one epoch of exactly these rows
        records = [record for record in load_records(data).records if not record.heldout][:rows_used]
        spec = {
            "base": base, "rows": sft_rows(records), "steps": args.steps, "batch": config["per_device_train_batch_size"],
            "max_length": config["max_length"], "lr": config["learning_rate"], "lora_r": config["lora_r"],
            "lora_alpha": config["lora_alpha"], "targets": config["lora_target_modules"],
        }  # fmt: skip
        bare = tmp_path / "bare_sft.py"
        bare.write_text(BARE_SCRIPT)
        ours, theirs = [], []
        for index in range(args.repeats):  # interleaved, so machine noise hits all alike
            spec_file = tmp_path / f"bare-{index}.json"
            spec_file.write_text(json.dumps({**spec, "out": str(tmp_path / f"bare-{index}")}))
            result = json.loads(run([sys.executable, str(bare), str(spec_file)], env).stdout.splitlines()[-1])
            tokens = result["tokens"]
            theirs.append(tokens / result["seconds"])
            done = run([str(bin_dir / "diffchat"), "train", "sft", "--config", args.config, "--train_file", str(data),
                        "--max_train_records", str(rows_used), "--output_dir", str(tmp_path / f"ours-{index}"),
                        "--max_steps", str(args.steps), "--save_strategy", "no", "--warmup_steps", "0"], env)  # fmt: skip
            ours.append(tokens / train_runtime(done.stderr))

    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"train sft vs bare TRL SFTTrainer, {args.steps} steps x batch {spec['batch']}, LoRA r{spec['lora_r']}, "
          f"median of {args.repeats}, {os.cpu_count()} cores")
    print(f"{'metric':<32}{'value':>10}  budget")
    print(f"{'train sft, tokens/s':<32}{statistics.median(ours):>10.1f}")
    print(f"{'bare TRL script, tokens/s':<32}{statistics.median(theirs):>10.1f}")
    print(f"{'ours / bare':<32}{ratio:>10.3f}  >= 1.0 {'ok' if ratio >= 1.0 else 'OVER'}")
    return 0 if ratio >= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
