"""What SFT and RL share: one way to read options (sections, env, unknown keys) and the run folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import pytest

from diffchat_tui.core.errors import BadInput
from trainer.jobs import RUN_INFO, is_run, parse_options, read_config, read_run_info, write_run_info


@dataclass
class Ours:
    train_file: str | None = field(default=None, metadata={"help": "data"})
    k_plain: int = field(default=2, metadata={"help": "samples"})


def test_a_section_wins_over_shared_keys_and_env_is_applied(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFCHAT_JOB_TEST", "before")  # so the env: key's value is undone after the test
    config = tmp_path / "c.yaml"
    config.write_text("k_plain: 3\nenv:\n  DIFFCHAT_JOB_TEST: yes\ndpo:\n  k_plain: 5\ngrpo:\n  k_plain: 7\n")
    assert read_config(config, ("dpo", "grpo"), "dpo") == {"k_plain": 5}
    assert os.environ["DIFFCHAT_JOB_TEST"] == "True"  # YAML's yes, as TRL's own `env:` would set it
    (ours,) = parse_options((Ours,), config, ["--train_file", "x.jsonl"], sections=("dpo", "grpo"), section="grpo", hint="h")
    assert (ours.k_plain, ours.train_file) == (7, "x.jsonl")


def test_unknown_keys_are_named_with_their_section(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("k_plain: 1\ndpo:\n  beta: 0.1\n")
    with pytest.raises(BadInput, match=r"unknown key\(s\) for dpo: beta \(keys go here\)$"):
        parse_options((Ours,), config, sections=("dpo", "grpo"), section="dpo", hint="keys go here")
    config.write_text("dpo: [1, 2]\n")
    with pytest.raises(BadInput, match="with optional dpo: and grpo: sections"):
        read_config(config, ("dpo", "grpo"), "dpo")


def test_run_info_round_trips_and_a_checkpoint_uses_its_run(tmp_path):
    run = tmp_path / "run"
    write_run_info(run, base="b", base_spec="embedded", base_gguf=None, method="lora", train_file="t.jsonl", train_rows=4, algo="dpo")
    assert is_run(run) and not is_run(tmp_path)
    info = read_run_info(run / "checkpoint-2")
    assert info == json.loads((run / RUN_INFO).read_text())
    assert (info["method"], info["algo"], info["base_gguf"]) == ("lora", "dpo", None) and info["prompt_format"]
    with pytest.raises(BadInput, match="not a training run folder"):
        read_run_info(tmp_path)
