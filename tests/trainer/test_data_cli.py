"""`diffchat data build|validate|stats|split` as a user runs them, and teacher mode on the real embedded model."""

import json
import re
import subprocess
import sys

import pytest

from diffchat_tui.core.errors import ModelError
from diffchat_tui.engines.gguf_gptq import read_calibration
from tests.conftest import free_port
from trainer.data.builder import build
from trainer.data.io import load_records
from trainer.data.teacher import check_paraphrase, paraphrase

HEAVY = ("torch", "transformers", "diffusers", "llama_cpp", "textual", "trainer")


def test_build_validate_stats_split(cli, tmp_path):
    data = tmp_path / "data.jsonl"
    run = cli("data", "build", "--n", "900", "--seed", "5", "-o", str(data))
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"{data}: 900 records") and "multi 50" in run.stdout

    again = tmp_path / "again.jsonl"
    assert cli("data", "build", "--n", "900", "--seed", "5", "-o", str(again)).code == 0
    assert again.read_bytes() == data.read_bytes()  # same seed, same file

    run = cli("data", "validate", str(data))
    assert (run.code, run.stderr) == (0, "")
    assert run.stdout.strip() == f"{data}: 900 good, 0 bad of 900 rows (jsonl)"

    run = cli("data", "stats", str(data), "--json")
    numbers = json.loads(run.stdout)
    assert numbers["total"] == 900 and len(numbers["categories"]) == 18
    assert abs(numbers["heldout_share"] - 0.15) <= 0.011
    table = cli("data", "stats", str(data)).stdout
    assert "atmosphere" in table and "beautified_target_prompt" in table

    run = cli("data", "split", str(data), "--test-frac", "0.1", "--seed", "1", "-o", str(tmp_path / "split"))
    assert run.code == 0, run.stderr
    train = load_records(tmp_path / "split" / "train.jsonl").records
    test = load_records(tmp_path / "split" / "test.jsonl").records
    assert len(train) + len(test) == 900
    assert not any(record.heldout for record in train)
    assert sum(record.heldout for record in test) == numbers["heldout"]

    run = cli("data", "calibration", str(data), "--n", "20", "-o", str(tmp_path / "calibration.jsonl"))
    assert run.code == 0, run.stderr
    conversations = read_calibration(tmp_path / "calibration.jsonl")
    trainable = [record for record in load_records(data).records if not record.heldout][:20]
    assert len(conversations) == 20 and [c[-1]["role"] for c in conversations] == ["assistant"] * 20
    assert all(record.instruction in c[-2]["content"] for record, c in zip(trainable, conversations, strict=True))


def test_validate_lists_bad_rows_by_line_and_exits_2(cli, tmp_path):
    good = {"source_prompt": "a cat", "instruction": "add a hat", "beautified_source_prompt": "a cat", "beautified_target_prompt": "a cat, a hat"}
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([json.dumps(good), "{oops", json.dumps({**good, "instruction": ""}), json.dumps(good)]) + "\n")

    run = cli("data", "validate", str(path))

    assert run.code == 2
    assert run.stderr_lines == [
        f"{path}:2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f'{path}:3: "instruction" is empty',
    ]
    assert run.stdout.strip() == f"{path}: 2 good, 2 bad of 4 rows (jsonl)"

    run = cli("data", "split", str(path), "-o", str(tmp_path / "out"))
    assert run.code == 2 and "--skip-bad" in run.stderr_lines[-1]
    run = cli("data", "split", str(path), "-o", str(tmp_path / "out"), "--skip-bad", "--test-frac", "0")
    assert run.code == 0
    assert "duplicate of line 1, dropped" in run.stderr  # lines 1 and 4 are the same example
    assert len(load_records(tmp_path / "out" / "train.jsonl").records) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("data", "validate", "missing.jsonl"), "cannot read missing.jsonl"),
        (("data", "build", "--n", "0", "-o", "x.jsonl"), "--n"),
        (("data", "calibration", "missing.jsonl", "-o", "x.jsonl"), "cannot read missing.jsonl"),
        (("data", "build", "--n", "5", "-o", "x.jsonl", "--teacher", "no-such-model.gguf"), "not found"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(cli, tmp_path, args, message):
    run = cli(*args)
    assert run.code == 2
    assert len(run.stderr_lines) == 1 and message in run.stderr and "Traceback" not in run.stderr


def test_data_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from diffchat_tui.cli import main\n"
        "sys.argv = ['diffchat', 'data', 'build', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--teacher" in proc.stdout and proc.stdout.strip().endswith("HEAVY []")


def test_teacher_mode_on_the_embedded_model_keeps_targets_and_accounts_for_every_record(cli, tmp_path, embedded_path):
    rules, taught = tmp_path / "rules.jsonl", tmp_path / "taught.jsonl"
    assert cli("data", "build", "--n", "5", "--seed", "2", "-o", str(rules)).code == 0

    run = cli("data", "build", "--n", "5", "--seed", "2", "-o", str(taught), "--teacher", str(embedded_path))

    assert run.code == 0, run.stderr
    summary = re.search(r"teacher: (\d+) of (\d+) instructions reworded(?:; kept the rule phrasing for (\d+))?", run.stdout)
    accepted, asked, kept = int(summary[1]), int(summary[2]), int(summary[3] or 0)
    assert asked == 5 and accepted + kept == 5
    before, after = load_records(rules).records, load_records(taught)
    assert after.errors == []  # paraphrases passed the same validation as every row
    changed = [old.instruction != new.instruction for old, new in zip(before, after.records, strict=True)]
    assert sum(changed) == accepted
    for old, new in zip(before, after.records, strict=True):  # only the instruction may change
        assert {**old.to_json(), "instruction": None} == {**new.to_json(), "instruction": None}


def test_teacher_mode_through_an_openai_compatible_server(cli, tmp_path, server_url):
    run = cli("data", "build", "--n", "4", "--seed", "3", "-o", str(tmp_path / "d.jsonl"), "--teacher", server_url)
    assert run.code == 0, run.stderr
    summary = re.search(r"teacher: (\d+) of 4 instructions reworded(?:; kept the rule phrasing for (\d+))?", run.stdout)
    assert int(summary[1]) + int(summary[2] or 0) == 4
    assert load_records(tmp_path / "d.jsonl").errors == []


def test_an_unreachable_teacher_server_is_one_line_exit_2(cli, tmp_path):
    run = cli("data", "build", "--n", "4", "-o", str(tmp_path / "d.jsonl"), "--teacher", f"http://127.0.0.1:{free_port()}")
    assert run.code == 2 and len(run.stderr_lines) == 1 and "no OpenAI-compatible server" in run.stderr
    assert not (tmp_path / "d.jsonl").exists()


class FaultyTeacher:
    """Fault injection: a teacher that answers with terminal escapes, then one that is down."""

    name = "faulty"
    declared_format = None

    def __init__(self, answer: str | None) -> None:
        self.answer = answer

    def load(self) -> float:
        return 0.0

    def prime(self, prefix) -> None:
        pass

    def stream(self, messages, **options):
        if self.answer is None:
            raise ModelError("lost the server at http://127.0.0.1:9/v1")
        yield self.answer


def test_teacher_output_with_escapes_is_rejected_and_a_dead_teacher_stops_the_build():
    drafts = build(6, seed=1)
    report = paraphrase(drafts, FaultyTeacher("\x1b[31mtake it away\x1b[0m"), seed=1)
    assert (report.asked, report.accepted, dict(report.rejected)) == (6, 0, {"escape sequences": 6})
    with pytest.raises(ModelError, match="failed 5 times in a row"):
        paraphrase(drafts, FaultyTeacher(None), seed=1)


def test_paraphrase_validation():
    mentions = [("seagulls",)]
    assert check_paraphrase('Request: "take the seagulls out"', "remove the seagulls", mentions) == ("take the seagulls out", "ok")
    assert check_paraphrase("  ", "remove the seagulls", mentions) == (None, "empty")
    assert check_paraphrase("remove the seagulls", "Remove the seagulls.", mentions) == (None, "unchanged")
    assert check_paraphrase("take the birds out", "remove the seagulls", mentions) == (None, "lost the edited words")
    assert check_paraphrase("keep the seagulls, do not touch them", "remove the seagulls", mentions)[1] == "added a negation"
    assert check_paraphrase("take out the seagulls and add a tabby cat", "remove the seagulls", mentions)[1] == "named something new"
    assert check_paraphrase("seagulls " * 40, "remove the seagulls", mentions) == (None, "too long")
