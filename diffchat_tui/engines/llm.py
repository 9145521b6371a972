"""The small interface every language-model engine offers (engines/factory.py builds them from settings)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol


class ContextOverflow(Exception):
    """The request does not fit the model's context window; the caller shortens it."""


class LLMEngine(Protocol):
    name: str
    """What `--json` output calls this model."""
    declared_format: str | None
    """The prompt format the model says it was trained on (GGUF metadata), if any."""

    def load(self) -> float:
        """Load the model if needed; returns the seconds it took (0 when already loaded)."""
        ...

    def prime(self, prefix: list[dict[str, str]]) -> None:
        """Get ready for requests that start with these messages (restore or compute their KV state)."""
        ...

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float,
        seed: int,
        max_tokens: int,
        stop: list[str],
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Yield the answer piece by piece (one token each for llama.cpp); stops early on cancel."""
        ...
