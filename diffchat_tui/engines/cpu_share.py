"""Cores that this process's own CPU work holds, so one engine counts another's work as load.

The LLM picks its threads from the cores idle when a request starts (llm_llamacpp.idle_cores), and leaves
our own runnable threads out of that count, since llama.cpp's workers spin for a while after a request.
A render on the CPU in the same process (the TUI renders while the next edit runs) is real load, though:
it says so here for as long as it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_held = 0


@contextmanager
def holding(cores: int) -> Iterator[None]:
    """Count `cores` as busy while the block runs."""
    global _held
    with _lock:
        _held += cores
    try:
        yield
    finally:
        with _lock:
            _held -= cores


def held_cores() -> int:
    """How many cores our own CPU work holds right now."""
    return _held
