"""`diffchat eval`: real llama.cpp models side by side, held-out records apart, Markdown + JSON + PNG."""

from __future__ import annotations

import json

from trainer.evaluate import load_eval_records
from trainer.realworld import heldout_path


def test_eval_compares_base_with_an_adapter_and_reports_held_out_apart(cli, tiny_data, tiny_run, tmp_path):
    from trainer.export import export_adapter

    adapter = export_adapter(tiny_run, tmp_path / "a.gguf").path
    out = tmp_path / "eval"
    run = cli("eval", "--data", str(tiny_data["test"]), "--model", "base", "--model", f"base+{adapter}", "-o", str(out), "--threads", "1", "--no-real", timeout=300)
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("Evaluation on") and "| base | held-out | 2 |" in run.stdout and "| base | seen | 2 |" in run.stdout
    assert "**held-out**: compliant / preserved / fluent per category" in run.stdout
    report = json.loads((out / "report.json").read_text())
    assert [model["name"] for model in report["models"]] == ["base", f"base+{adapter}"]
    assert report["models"][0]["prompt_format"] == "fewshot-v1" and report["models"][1]["prompt_format"] == "diffchat-v2"
    held = report["summary"]["base"]["held-out"]["all"]
    assert held["n"] == 2 and 0.0 <= held["compliant"] <= 1.0 and 0.0 <= held["fluent"] <= 1.0
    assert (out / "eval.png").read_bytes()[:4] == b"\x89PNG"
    predictions = [json.loads(line) for line in (out / "predictions-base.jsonl").read_text().splitlines()]
    assert len(predictions) == 4 and {"target", "raw", "reference", "score"} <= set(predictions[0])

    # The second model against the first, case by case: the difference follows from the two prediction files.
    assert "Paired against `base` on the same cases" in run.stdout
    adapted = [json.loads(line) for line in (out / f"predictions-{adapter.name}.jsonl").read_text().splitlines()]
    paired = report["paired"][f"base+{adapter}"]["held-out"]
    before = [row["score"]["passed"] for row in predictions if row["split"] == "held-out"]
    after = [row["score"]["passed"] for row in adapted if row["split"] == "held-out"]
    assert paired["n"] == 2 and paired["passed_delta"] == (sum(after) - sum(before)) / 2
    assert paired["gained"] == sum(a and not b for a, b in zip(after, before)) and paired["lost"] == sum(b and not a for a, b in zip(after, before))
    low, high = paired["passed_delta_ci"]
    assert -1.0 <= low <= paired["passed_delta"] <= high <= 1.0


def test_eval_bad_input_is_one_line_exit_2(cli, tmp_path, tiny_data):
    run = cli("eval", "--data", str(tmp_path / "missing.jsonl"), "--model", "base")
    assert run.code == 2 and run.stderr_lines == [f"diffchat: error: data file not found: {tmp_path / 'missing.jsonl'}"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source_prompt": "a cat"}\n')
    run = cli("eval", "--data", str(bad), "--model", "base")
    assert run.code == 2 and len(run.stderr_lines) == 1 and "bad.jsonl:1:" in run.stderr
    run = cli("eval", "--data", str(tiny_data["test"]), "--model", str(tmp_path / "none.gguf"))
    assert run.code == 2 and len(run.stderr_lines) == 1 and "not found" in run.stderr


def test_limit_spreads_over_the_file(tiny_data):
    records = load_eval_records(tiny_data["test"], limit=2)
    assert [record.heldout for record in records] == [True, False]


def test_the_pinned_held_out_set_is_valid_under_todays_core():
    # A change to core/ that makes a pinned reference unreachable (as the BREAK fix once did) fails here, not in a user's eval.
    records = load_eval_records(heldout_path())
    assert len(records) == 373 and all(record.heldout for record in records)
    assert len({record.category for record in records}) == 18


def test_eval_without_data_scores_the_pinned_held_out_set(cli, tmp_path):
    out = tmp_path / "eval"
    run = cli("eval", "--model", "base", "--limit", "2", "--no-real", "-o", str(out), "--threads", "1", timeout=300)
    assert run.code == 0, run.stderr
    assert "| base | held-out | 2 |" in run.stdout and "| seen |" not in run.stdout
    assert json.loads((out / "report.json").read_text())["data"] == str(heldout_path())


def test_eval_with_an_image_model_adds_the_reward_metrics(cli, tiny_data, tiny_models, tmp_path):
    out = tmp_path / "eval"
    run = cli("eval", "--data", str(tiny_data["test"]), "--model", "base", "--limit", "2", "-o", str(out), "--threads", "1",
              "--image-model", str(tiny_models["image"]), "--tiny-scorers", str(tiny_models["clip"]), "--no-real", timeout=300)  # fmt: skip
    assert run.code == 0, run.stderr
    assert "Reward metrics (images from" in run.stdout and "| model | split | n | aesthetic |" in run.stdout
    summary = json.loads((out / "rewards.json").read_text())["summary"]["base"]
    assert sum(split["n"] for split in summary.values()) == 2
    for split in summary.values():
        assert {"aesthetic", "preference", "image_cosine", "integrity", "ci_pass"} <= set(split)
        assert -1.0 <= split["image_cosine"] <= 1.0 and 0.0 <= split["ci_pass"] <= 1.0
    assert "Reward metrics" in (out / "report.md").read_text()


def test_rescore_reads_the_stored_answers_again_with_todays_core(cli, tiny_data, tmp_path):
    from trainer.evaluate import eval_items

    real = tmp_path / "real.jsonl"
    cases = [
        {"id": "tags-remove-01", "kind": "remove", "source": "1girl, kimono, holding umbrella, red umbrella, shrine",
         "instruction": "kill the umbrella", "must_exclude": ["umbrella"], "keep": ["kimono"]},
        {"id": "short-multiturn-01", "kind": "multiturn", "source": "a cat on a sofa", "history": ["add a hat"],
         "instruction": "remove the cat", "must_exclude": ["cat"]},
    ]  # fmt: skip
    real.write_text("".join(json.dumps(case) + "\n" for case in cases))
    items = eval_items(tiny_data["test"], None, real)
    # As an older core/ left them: the umbrella's other tags stayed, and the conversation's target is the model's own.
    stored = {"kill the umbrella": ("- umbrella", "1girl, kimono, red umbrella, shrine"), "remove the cat": ("- cat", "a cat on a sofa, a hat")}
    out = tmp_path / "eval"
    out.mkdir()
    rows = [
        {"index": i, "split": item.split, "category": item.category, "source": item.source, "history": [], "instruction": item.instruction,
         "raw": stored.get(item.instruction, ("error: none",))[0], "target": stored.get(item.instruction, ("", ""))[1], "negative": "",
         "script": "", "reference": None, "score": {}}
        for i, item in enumerate(items)
    ]  # fmt: skip
    (out / "predictions-embedded.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (out / "report.json").write_text(json.dumps({"models": [{"name": "embedded", "prompt_format": "diffchat-v2"}]}))

    run = cli("eval", "--data", str(tiny_data["test"]), "--real", str(real), "--rescore", "-o", str(out))
    assert run.code == 0, run.stderr
    again = {row["instruction"]: row for row in map(json.loads, (out / "predictions-embedded.jsonl").read_text().splitlines())}
    umbrella = again["kill the umbrella"]
    assert (umbrella["target"], umbrella["script"]) == ("1girl, kimono, shrine", "- umbrella\n- red umbrella")
    assert umbrella["score"]["passed"] is True
    assert again["remove the cat"]["target"] == "a cat on a sofa, a hat" and again["remove the cat"]["score"]["passed"] is False
