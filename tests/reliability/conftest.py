"""Helpers for the hostile-input battery: the one-line-error check, and small real filesystems."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.tui.conftest import tui_settings  # noqa: F401 - the TUI's settings fixture, for the store-fault TUI test


def assert_one_line_error(run, code: int = 2, says: str = "") -> str:
    """Exit `code`, no traceback, and exactly one `diffchat: error:` line on stderr (warnings may come before it)."""
    assert "Traceback" not in run.stderr and "Error:" not in run.stderr.replace("diffchat: error:", ""), run.stderr[-2000:]
    errors = [line for line in run.stderr_lines if line.startswith("diffchat: error:")]
    assert run.code == code and len(errors) == 1, (run.code, run.stderr[-2000:])
    assert says in errors[0], errors[0]
    return errors[0]


@contextmanager
def tmpfs(where: Path, size: str = "256k") -> Iterator[Path]:
    """A small real filesystem (root only: skipped elsewhere); remount it read-only with remount_ro()."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a tmpfs here (it needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount_ro(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)


def fill(folder: Path) -> None:
    """Write until the filesystem is full (it may be already)."""
    try:
        with open(folder / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass
