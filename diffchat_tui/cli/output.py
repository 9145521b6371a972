"""How the CLI speaks on stderr: one-line warnings, and the one way errors reach the user."""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def warn(message: str) -> None:
    print(f"diffchat: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    """Something worth knowing that is not a problem (slow one-time work, where a prompt came from)."""
    print(f"diffchat: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then the exit code (2 for bad input; see core.errors)."""
    print(f"diffchat: error: {message}", file=sys.stderr)
    sys.exit(code)


def exit_done() -> NoReturn:
    """Exit 0 at once: a one-shot command has printed, written and committed all it will.

    Python's teardown (freeing the model, finalizing some 900 modules) costs about 50 ms of a 0.6 s edit
    (benchmarks/bench_edit.py), and the OS frees that memory at exit anyway. No atexit handler runs, so
    call this only when nothing is left to do; SQLite's committed WAL is safe as after any exit.
    """
    sys.stdout.flush()  # a reader gone away raises BrokenPipeError here, which main() reports as usual
    sys.stderr.flush()
    os._exit(0)
