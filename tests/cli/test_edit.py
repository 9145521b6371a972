"""`diffchat edit` as a user runs it: a real process on the real embedded model."""

import json
import re

import pytest


def test_json_result_has_a_changed_target_and_timings(cli):
    run = cli("edit", "a cat on a sofa", "-i", "make it cyberpunk at night", "--json")
    assert run.code == 0, run.stderr
    (record,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert record["source"] == "a cat on a sofa"
    assert record["instruction"] == "make it cyberpunk at night"
    assert record["target"] and record["target"].lower() != "a cat on a sofa"
    assert record["model"].startswith("embedded")  # plus the shipped adapter, when assets/ has it
    assert set(record["timings"]) == {"load_s", "ttft_s", "total_s", "tokens", "tok_per_s"}
    assert record["timings"]["load_s"] > 0


def test_plain_output_is_the_final_prompt_and_stdin_works(cli):
    run = cli("edit", "-", "-i", "add a red umbrella", "-i", "make it a watercolor", stdin="a cat on a sofa\n")
    assert run.code == 0, run.stderr
    assert len(run.stdout.splitlines()) == 1 and run.stdout.strip()


def test_repeated_instructions_are_turns_that_see_each_other(cli):
    run = cli("edit", "a cat on a sofa", "-i", "make it night", "-i", "add rain", "--json")
    first, second = [json.loads(line) for line in run.stdout.splitlines()]
    assert (first["turn"], second["turn"]) == (1, 2)
    assert second["source"] == "a cat on a sofa" and second["instruction"] == "add rain"
    assert second["timings"]["load_s"] == 0  # loaded once, by the first turn


def test_candidates_are_distinct_lines(cli):
    run = cli("edit", "a lighthouse on a cliff", "-i", "make it stormy", "-n", "3")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 3 and len({line.lower() for line in lines}) == 3


def test_batch_runs_on_one_load_and_reports_bad_lines(cli, tmp_path):
    lines = [json.dumps({"id": f"r{i}", "source": f"a house number {i}", "instruction": "make it winter"}) for i in range(50)]
    lines[10] = '{"id": "bad-json", "source": '
    lines[20] = json.dumps({"id": "no-instruction", "source": "a dog"})
    lines[30] = json.dumps({"id": "empty", "source": "   ", "instruction": "add a hat"})
    lines[40] = "[1, 2]"
    batch = tmp_path / "edits.jsonl"
    batch.write_bytes(("\n".join(lines) + "\n\n").encode() + b'{"id": "utf8", "source": "\xff", "instruction": "x"}\n')

    run = cli("edit", "--batch", str(batch), timeout=300)

    assert run.code == 2
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(out) == 51
    errors = {record["line"]: record for record in out if "error" in record}
    assert set(errors) == {11, 21, 31, 41, 52}
    assert errors[21] == {"id": "no-instruction", "line": 21, "error": '"instruction" must be a string'}
    assert errors[31]["id"] == "empty" and "source is empty" in errors[31]["error"]
    assert "not valid UTF-8" in errors[52]["error"]
    assert [line.split(":")[2] for line in run.stderr_lines] == ["11", "21", "31", "41", "52"]
    good = [record for record in out if "error" not in record]
    assert [record["id"] for record in good] == [f"r{i}" for i in range(50) if i not in (10, 20, 30, 40)]
    assert all(record["target"] for record in good)
    assert sum(record["timings"]["load_s"] > 0 for record in good) == 1  # one model load for the whole file


def test_a_clean_batch_from_stdin_exits_zero(cli):
    run = cli("edit", "--batch", "-", stdin='{"source": "a cat", "instruction": "add a hat"}\n')
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["id"] is None


def one_line_error(run, fragment):
    assert run.code == 2, (run.stdout, run.stderr)
    assert len(run.stderr_lines) == 1, run.stderr
    assert run.stderr_lines[0].startswith("diffchat")
    assert fragment in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        (["edit", "", "-i", "add a hat"], b"", "source is empty"),
        (["edit", "a cat", "-i", "  \t "], b"", "instruction is empty"),
        (["edit", "a cat"], b"", "give at least one -i"),
        (["edit", "-i", "add a hat"], b"", "give a SOURCE"),
        (["edit", "-", "-i", "add a hat"], b"a cat \xff\xfe", "stdin is not valid UTF-8"),
        (["edit", "a cat", "-i", "x", "--model", "/nonexistent/model.gguf"], b"", "model file not found"),
        (["edit", "a cat", "-i", "x", "--lora", "/nonexistent/adapter.gguf"], b"", "LoRA adapter file not found"),
        (["edit", "a cat", "-i", "x", "--frobnicate"], b"", "No such option: --frobnicate"),
        (["edit", "a cat", "-i", "x", "--temperature", "9"], b"", "--temperature"),
        (["edit", "a cat", "-i", "x", "-n", "0"], b"", "--candidates"),
        (["edit", "a cat", "-i", "x", "--seed", "many"], b"", "--seed"),
        (["edit", "--batch", "/nonexistent.jsonl"], b"", "cannot read /nonexistent.jsonl"),
        (["edit", "a cat", "-i", "x", "--model", "someone/repo/model.gguf"], b"", "HF_HUB_OFFLINE is set"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(cli, args, stdin, fragment):
    one_line_error(cli(*args, stdin=stdin), fragment)


def test_a_corrupt_gguf_is_refused(cli, tmp_path):
    corrupt = tmp_path / "model.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x00" * 64)
    one_line_error(cli("edit", "a cat", "-i", "add a hat", "--model", str(corrupt)), "llama.cpp cannot load")


def test_control_characters_are_stripped_with_a_warning(cli):
    run = cli("edit", "a cat\x1b[2J on a sofa", "-i", "add a hat\x07", "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["source"] == "a cat on a sofa"
    assert sorted(run.stderr_lines) == [
        "diffchat: warning: instruction: removed control or escape characters",
        "diffchat: warning: source: removed control or escape characters",
    ]


def test_an_oversized_source_is_cut_with_a_warning(cli):
    run = cli("edit", ", ".join(["a small red house"] * 200), "-i", "make it winter", "--json")
    assert run.code == 0, run.stderr
    assert len(json.loads(run.stdout)["source"]) <= 1000
    assert "too long" in run.stderr


@pytest.mark.parametrize(
    "source, instruction, gone, kept",
    [
        ("a fisherman on a wooden pier with seagulls", "get rid of the seagulls", r"\bseagull", ("fisherman", "pier")),
        ("a cat on a sofa, watercolor", "swap the cat for a golden retriever", r"\bcats?\b", ("golden retriever", "sofa", "watercolor")),
        ("a cat on a sofa", "add a red umbrella", None, ("cat", "sofa", "red umbrella")),
    ],
)
def test_the_shipped_model_applies_the_edit_and_keeps_the_rest(cli, source, instruction, gone, kept):
    run = cli("edit", source, "-i", instruction)
    assert run.code == 0, run.stderr
    target = run.stdout.strip().lower()
    assert gone is None or not re.search(gone, target), target
    assert all(word in target for word in kept), target


SYNTAX = "masterpiece, (best quality:1.2), 1girl, solo, long hair, [cat:fox:0.5] BREAK\nforest, __weather__, <lora:add_detail:0.6>"


@pytest.mark.parametrize(
    "source, instruction, wanted, unwanted",
    [
        (SYNTAX, "make her hair short", "short hair", "long hair"),
        (SYNTAX, "get rid of the forest", None, "forest"),
        (SYNTAX, "make it a beach instead of a forest", "beach", "forest"),
        (SYNTAX, "add a red scarf", "red scarf", None),
        ("cinematic photo of an old fisherman on a wooden pier, (golden hour:1.2), 85mm lens, octane render", "add seagulls", "seagull", None),
    ],
)
def test_the_shipped_model_keeps_untouched_syntax_byte_for_byte(cli, source, instruction, wanted, unwanted):
    run = cli("edit", source, "-i", instruction, "--no-beautify", "--json")
    assert run.code == 0, run.stderr
    record = json.loads(run.stdout)
    target = record["target"]
    assert record["script"] and not record["script"].startswith("=")  # an edit script, not a rewrite
    assert wanted is None or wanted in target.lower(), target
    assert unwanted is None or unwanted not in target.lower(), target
    for piece in ("(best quality:1.2)", "[cat:fox:0.5]", "BREAK\n", "__weather__", "<lora:add_detail:0.6>", "(golden hour:1.2)"):
        assert piece not in source or piece in target, (piece, target)


def test_a_request_about_the_negative_prompt_lands_there(cli):
    run = cli("edit", "a cat on a sofa", "-i", "no text or watermarks", "--negative", "lowres", "--json")
    record = json.loads(run.stdout)
    assert record["target"].startswith("a cat on a sofa")
    assert record["negative"].startswith("lowres") and "watermark" in record["negative"], record
