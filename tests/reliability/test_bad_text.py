"""Items 3 and 8, and the bidi note: invalid UTF-8 in argv and batch lines, and input that never ends."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from diffchat_tui.core.text import clean_user_text, strip_escapes
from tests.reliability.conftest import assert_one_line_error


def run_bytes(args: list[bytes], stdin: bytes | int = b"", timeout: float = 120) -> subprocess.CompletedProcess:
    """argv as raw bytes, as a shell passes $'a cat \\xff'."""
    return subprocess.run([sys.executable.encode(), b"-m", b"diffchat_tui", *args], input=stdin if isinstance(stdin, bytes) else None,
                          stdin=None if isinstance(stdin, bytes) else stdin, capture_output=True, timeout=timeout)  # fmt: skip


class Run:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.code, self.stdout = proc.returncode, proc.stdout.decode(errors="replace")
        self.stderr = proc.stderr.decode(errors="replace")
        self.stderr_lines = self.stderr.splitlines()


@pytest.mark.parametrize("argv", [[b"edit", b"a cat \xff", b"-i", b"x"], [b"edit", b"a cat", b"-i", b"add \xfe\xff"],
                                  [b"render", b"a cat \xff", b"-o", b"x.png"]])  # fmt: skip
def test_invalid_utf8_in_argv_is_one_line(argv, temp_home):
    assert_one_line_error(Run(run_bytes(argv)), says="not valid UTF-8")


def test_a_lone_surrogate_in_a_batch_line_fails_that_line_only(cli):
    lines = [json.dumps({"id": 1, "source": "a cat \udcff", "instruction": "add a hat"}),  # ensure_ascii: a "\udcff" escape
             json.dumps({"id": 2, "source": "a red car", "instruction": "add rain"})]
    run = cli("edit", "--batch", "-", stdin="\n".join(lines) + "\n")
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.code == 2 and "Traceback" not in run.stderr
    assert answers[0]["id"] == 1 and "UTF-8" in answers[0]["error"]
    assert answers[1]["id"] == 2 and answers[1]["target"]


def test_bidi_overrides_are_stripped():
    assert strip_escapes("a cat\u202e on a sofa\u2066") == "a cat on a sofa"
    assert clean_user_text("add a \u202ehat", "instruction", 100).warnings


def test_endless_stdin_is_read_with_a_bound(temp_home):
    with open("/dev/zero", "rb") as zero:
        run = Run(run_bytes([b"edit", b"-", b"-i", b"add a hat"], stdin=zero.fileno(), timeout=60))
    assert_one_line_error(run, says="source is empty")  # 16 KB of NULs read, stripped, nothing left


def test_yes_into_edit_is_cut_with_a_warning_and_answered(temp_home):
    yes = subprocess.Popen(["yes", "a cat on a sofa,"], stdout=subprocess.PIPE)
    try:
        run = Run(run_bytes([b"edit", b"-", b"-i", b"make it night", b"--max-tokens", b"16"], stdin=yes.stdout.fileno()))
    finally:
        yes.kill()
        yes.wait()
    assert run.code == 0, run.stderr
    assert "stdin: more than" in run.stderr and "too long; cut to" in run.stderr and run.stdout.strip()


def test_an_endless_batch_line_ends_the_batch_with_one_error(temp_home):
    with open("/dev/zero", "rb") as zero:
        run = Run(run_bytes([b"edit", b"--batch", b"-"], stdin=zero.fileno(), timeout=60))
    assert run.code == 2 and "Traceback" not in run.stderr and "endless line" in run.stderr
    assert json.loads(run.stdout)["line"] == 1


def test_a_long_batch_line_is_reported_and_the_next_answered(cli):
    lines = [json.dumps({"source": "a cat " * 20000, "instruction": "add a hat"}), json.dumps({"source": "a dog", "instruction": "add a hat"})]
    run = cli("edit", "--batch", "-", stdin="\n".join(lines) + "\n")
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.code == 2 and "longer than" in answers[0]["error"] and answers[1]["target"]


def test_data_validate_dev_zero_is_one_line(cli):
    assert_one_line_error(cli("data", "validate", "/dev/zero", timeout=60), says="without ending")


def test_an_empty_batch_is_one_line(cli, tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    assert_one_line_error(cli("edit", "--batch", str(tmp_path / "empty.jsonl")), says="holds no edits")

