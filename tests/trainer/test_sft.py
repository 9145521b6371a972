"""`train sft`: a real TRL run on SmolLM2, resume, and one-line errors for bad configs and data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from diffchat_tui.core.errors import BadInput
from tests.trainer.conftest import run_sft
from trainer.jobs import RUN_INFO
from trainer.sft import load_rows, parse_job

CONFIG = Path(__file__).resolve().parents[2] / "trainer" / "configs" / "diffchat-135m.yaml"


def test_a_real_lora_run_leaves_adapter_checkpoints_and_loss_plot(tiny_run, hf_base):
    assert (tiny_run / "adapter_model.safetensors").is_file() and (tiny_run / "adapter_config.json").is_file()
    assert (tiny_run / "checkpoint-1").is_dir() and (tiny_run / "checkpoint-2").is_dir()
    assert (tiny_run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    info = json.loads((tiny_run / RUN_INFO).read_text())
    assert info["method"] == "lora" and info["prompt_format"] == "diffchat-v2"
    assert info["base"] == str(hf_base) and info["base_gguf"].endswith(".gguf")
    adapter = json.loads((tiny_run / "adapter_config.json").read_text())
    assert set(adapter["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    state = json.loads((tiny_run / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and any("loss" in entry for entry in state["log_history"])


def test_rows_are_prompt_completion_in_the_trained_format(tiny_data):
    from diffchat_tui.core.prompting import SCRIPT_SYSTEM_TEXT

    rows, held = load_rows(str(tiny_data["test"]), drop_heldout=True)
    assert held == 2 and len(rows) == 2
    row = rows[0]
    assert row["prompt"][0] == {"role": "system", "content": SCRIPT_SYSTEM_TEXT}
    assert row["prompt"][-1]["role"] == "user" and row["completion"][0]["role"] == "assistant"


def test_resume_continues_from_the_last_checkpoint(tiny_run, hf_base, tiny_data, tmp_path):
    run = tmp_path / "resumed"
    shutil.copytree(tiny_run, run)
    shutil.rmtree(run / "checkpoint-2")  # as if killed after step 1
    with pytest.raises(BadInput, match="already holds checkpoints"):
        run_sft(hf_base, tiny_data["train"], run)
    run_sft(hf_base, tiny_data["train"], run, "--resume", "true", "--max_steps", "3")
    state = json.loads((run / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3


def test_resume_with_nothing_to_resume_is_refused(hf_base, tiny_data, tmp_path):
    with pytest.raises(BadInput, match="nothing to resume"):
        run_sft(hf_base, tiny_data["train"], tmp_path / "new", "--resume", "true")


def test_an_option_combination_trl_refuses_at_build_time_is_one_line(hf_base, tiny_data, tmp_path):
    with pytest.raises(BadInput, match=r"^bad training option: When `padding_free=True` without packing") as refused:
        run_sft(hf_base, tiny_data["train"], tmp_path / "run", "--padding_free", "true")
    assert "\n" not in str(refused.value)


def test_yaml_keys_are_trl_fields_and_flags_override_them():
    job = parse_job(CONFIG, ["--train_file", "x.jsonl", "--max_steps", "7", "--lora_r", "8"])
    assert (job.training.max_steps, job.model.lora_r, job.data.train_file) == (7, 8, "x.jsonl")
    assert job.training.use_cpu and not job.training.bf16  # CPU defaults (no GPU here)
    assert job.model.use_peft and job.training.learning_rate == 8e-4


@pytest.mark.parametrize(
    ("yaml_text", "flags", "message"),
    [
        ("train_file: a.jsonl\noutput_dir: o\nnot_a_field: 3\n", [], "unknown key(s) not_a_field"),
        ("- a\n- b\n", [], "must be a YAML mapping"),
        ("train_file: [unclosed\n", [], "not valid YAML"),
        ("output_dir: o\n", [], "no training data"),
        ("train_file: a.jsonl\noutput_dir: o\n", ["--max_steps", "many"], "bad training option"),
        ("train_file: a.jsonl\noutput_dir: o\n", ["--no_such_flag", "1"], "bad training option"),
    ],
)
def test_bad_configs_are_one_line_bad_input(tmp_path, yaml_text, flags, message):
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text)
    with pytest.raises(BadInput) as caught:
        parse_job(config, flags)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bad_rows_stop_training_with_their_line_number(tmp_path, tiny_data):
    lines = tiny_data["train"].read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([lines[0], '{"source_prompt": "a cat"}', lines[1], "not json"]) + "\n")
    with pytest.raises(BadInput, match=r"bad\.jsonl:2: .*\(and 1 more bad rows"):
        load_rows(str(bad), drop_heldout=True)
    with pytest.raises(BadInput, match="data file not found"):
        load_rows(str(tmp_path / "missing.jsonl"), drop_heldout=True)


def test_cli_bad_input_is_one_line_exit_2(cli, tmp_path):
    run = cli("train", "sft", "--config", str(CONFIG), "--train_file", str(tmp_path / "missing.jsonl"), "--output_dir", str(tmp_path / "o"))
    assert run.code == 2 and run.stderr_lines == [f"diffchat: error: data file not found: {tmp_path / 'missing.jsonl'}"]
    run = cli("train", "sft", "--config", str(tmp_path / "nope.yaml"))
    assert run.code == 2 and len(run.stderr_lines) == 1 and "config file not found" in run.stderr
