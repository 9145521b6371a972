"""The RL loop for real: llama.cpp ADM sampling from an SFT run, rewards, CI-gated pairs, TRL DPO/GRPO, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diffchat_tui.core.prompting import TRAINED_FORMAT, Turn, build_messages

CONFIG = Path(__file__).resolve().parents[2] / "trainer" / "configs" / "rl.yaml"
TINY = [
    "--per_device_train_batch_size", "2", "--logging_steps", "1", "--save_steps", "1", "--warmup_steps", "0",
    "--k_plain", "1", "--k_positive", "1", "--k_negative", "1", "--learning_rate", "1e-4",
]  # fmt: skip


def run_rl(algo: str, policy: Path, data: Path, out: Path, *extra: str) -> Path:
    from trainer.rl.train import parse_job, train

    args = ["--model_name_or_path", str(policy), "--train_file", str(data), "--output_dir", str(out), *TINY, *extra]
    return train(parse_job(algo, CONFIG, args))


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_gguf_adapter_reads_back_into_the_same_peft_weights(tiny_run, tmp_path):
    from safetensors.torch import load_file

    from trainer.export import export_adapter
    from trainer.rl.policy import import_lora_gguf

    exported = export_adapter(tiny_run, tmp_path / "adapter.gguf")
    base_config = json.loads((Path(json.loads((tiny_run / "diffchat_run.json").read_text())["base"]) / "config.json").read_text())
    folder = import_lora_gguf(exported.path, base_config, tmp_path / "peft")
    original, restored = load_file(str(tiny_run / "adapter_model.safetensors")), load_file(str(folder / "adapter_model.safetensors"))
    assert set(original) == set(restored)
    assert max(float((original[k] - restored[k]).abs().max()) for k in original) < 1e-3  # f16 rounding only
    config = json.loads((folder / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (4, 8)


def test_text_only_dpo_from_an_sft_run_resumes_and_exports(tiny_run, tiny_data, tmp_path):
    from trainer.export import export_adapter, verify_gguf

    out = tmp_path / "rl"
    run_rl("dpo", tiny_run, tiny_data["train"], out, "--max_requests", "3", "--max_steps", "1", "--max_length", "128")
    info = json.loads((out / "diffchat_run.json").read_text())
    assert info["method"] == "lora" and info["algo"] == "dpo" and info["prompt_format"] == TRAINED_FORMAT
    pools = lines(out / "samples.jsonl")
    assert len(pools) == 3
    assert {c["space"] for c in pools[0]["candidates"]} == {"plain", "positive", "negative", "reference"}
    assert len(lines(out / "scores.jsonl")) == 3
    summary = json.loads((out / "samples_summary.json").read_text())
    assert summary["pairs"] >= 1 and summary["spaces"]["reference"]["compliant"] == 1.0
    assert (out / "rewards.png").is_file() and (out / "adapter_model.safetensors").is_file()
    assert not (out / "ref").exists()  # DPO's frozen reference adapter is not part of the result

    run_rl("dpo", tiny_run, tiny_data["train"], out, "--max_requests", "3", "--max_steps", "2", "--max_length", "128", "--resume", "true")
    assert len(lines(out / "samples.jsonl")) == 3  # every pool came from the cache
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2

    verified = verify_gguf(export_adapter(out, tmp_path / "rl.gguf"))
    assert verified.prompt_format == TRAINED_FORMAT


def test_image_rewards_run_end_to_end_on_tiny_models(tiny_models, tiny_run, tiny_data, tmp_path):
    images = ["--image_model", str(tiny_models["image"]), "--tiny_scorers", str(tiny_models["clip"]), "--image_device", "cpu"]
    out = run_rl("dpo", tiny_run, tiny_data["train"], tmp_path / "dpo", "--max_requests", "2", "--max_steps", "1",
                 "--max_length", "128", *images)  # fmt: skip
    terms = lines(out / "scores.jsonl")[0]["terms"][0]
    assert {"aesthetic", "preference", "image_cosine", "integrity", "text"} <= set(terms)

    out = run_rl("grpo", tiny_run, tiny_data["train"], tmp_path / "grpo", "--max_requests", "2", "--max_steps", "1",
                 "--num_generations", "2", "--max_completion_length", "12", *images)  # fmt: skip
    logged = json.loads((out / "checkpoint-1" / "trainer_state.json").read_text())["log_history"][0]
    assert {"rewards/value/mean", "rewards/text/mean", "rewards/aesthetic/mean", "rewards/preference/mean"} <= set(logged)
    assert "value/gated_share" in logged
    assert (out / "rewards.png").is_file()


def test_preferences_from_a_session_database_train_with_dpo(cli, tiny_run, tmp_path):
    from diffchat_tui.core.session import Node
    from diffchat_tui.store.sessions import SessionStore

    store = SessionStore()
    session = store.new_session()
    root = store.add_node(session, Node(0, None, "source", "a cat on a sofa"))
    first = store.add_node(session, Node(0, root.id, "edit", "a cat on a sofa, night", "make it night"))
    kids = [store.add_node(session, Node(0, first.id, "edit", f"a cat on a sofa, night, {hat}", "add a hat", candidate_group="g1"))
            for hat in ("a red hat", "a hat hat hat", "add a hat")]  # fmt: skip
    store.set_choice([kid.id for kid in kids], chosen=kids[0].id)
    other = store.new_session()
    store.add_node(other, Node(0, None, "source", "a dog"))
    store.close()

    prefs = tmp_path / "prefs.jsonl"
    done = cli("data", "prefs", "-o", str(prefs))
    assert done.code == 0, done.stderr
    rows = lines(prefs)
    assert len(rows) == 2
    expected = build_messages("a cat on a sofa", "add a hat", [Turn("make it night", "a cat on a sofa, night")], TRAINED_FORMAT)
    assert rows[0]["prompt"] == expected
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "+ a red hat"}]  # what the model says: a script
    assert {row["rejected"][0]["content"] for row in rows} == {"+ a hat hat hat", "+ add a hat"}

    assert cli("data", "prefs", "--session", str(other), "-o", str(tmp_path / "none.jsonl")).code == 2
    out = run_rl("dpo", tiny_run, prefs, tmp_path / "prefs-run", "--max_steps", "1", "--max_length", "128")
    assert (out / "adapter_model.safetensors").is_file()
    assert not (out / "samples.jsonl").exists()  # the user's own pairs need no sampling


@pytest.mark.parametrize(
    "args, message",
    [
        (["--algo", "ppo"], "choose dpo or grpo"),
        (["--num_generations", "4"], "bad training option"),  # a GRPO-only flag under DPO
        (["--data", "missing.jsonl", "--output_dir", "x"], "data file not found"),
    ],
)
def test_bad_rl_options_are_one_line(cli, args, message):
    done = cli("train", "rl", "--config", str(CONFIG), *args)
    assert done.code == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_text_only_grpo_draws_part_of_each_group_in_the_adm_spaces_and_gates_on_integrity(tiny_run, tiny_data, tmp_path):
    out = run_rl("grpo", tiny_run, tiny_data["train"], tmp_path / "grpo", "--max_requests", "2", "--max_steps", "1",
                 "--num_generations", "3", "--per_device_train_batch_size", "3", "--max_completion_length", "16")  # fmt: skip
    logged = json.loads((out / "checkpoint-1" / "trainer_state.json").read_text())["log_history"][0]
    assert logged["adm/biased_share"] == pytest.approx(2 / 3)  # one plain, one positive, one negative per group
    assert {"rewards/value/mean", "rewards/text/mean", "rewards/integrity/mean", "rewards/validity/mean", "rewards/brevity/mean"} <= set(logged)
    assert 0.0 <= logged["value/gated_share"] <= 1.0
    info = json.loads((out / "diffchat_run.json").read_text())
    assert info["algo"] == "grpo" and info["prompt_format"] == TRAINED_FORMAT
