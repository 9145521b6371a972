"""How the CLI speaks on stderr: one-line warnings, and the one way errors reach the user."""

from __future__ import annotations

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
