"""The small interface every language-model engine offers, and the choice between them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from diffchat_tui.config import LLMSettings


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


def make_engine(settings: LLMSettings) -> LLMEngine:
    """The engine the settings ask for: an HTTP server when a URL is set, else llama.cpp in-process."""
    if settings.url:
        from diffchat_tui.engines.llm_http import OpenAIHTTPEngine

        return OpenAIHTTPEngine(settings.url, model=settings.url_model)
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    return LlamaCppEngine(
        resolve_llm(settings.model, settings.lora),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_gpu_layers=settings.n_gpu_layers,
        prefix_cache=settings.prefix_cache,
    )
