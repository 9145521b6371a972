"""The one place that turns settings into engines: the CLI, the TUI, the trainer and the tests all build them here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from diffchat_tui.config import ImageSettings, LLMSettings
from diffchat_tui.engines.llm import LLMEngine
from diffchat_tui.engines.llm_http import OpenAIHTTPEngine
from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from diffchat_tui.engines.models import resolve_llm

if TYPE_CHECKING:
    from diffchat_tui.engines.image import ImageEngine


def make_llm_engine(settings: LLMSettings, notice: Callable[[str], None] | None = None) -> LLMEngine:
    """The engine the settings ask for: an HTTP server when a URL is set, else llama.cpp in-process.

    notice hears about slow one-time work (building the merged embedded model).
    """
    if settings.url:
        return OpenAIHTTPEngine(settings.url, model=settings.url_model, timeout=settings.url_timeout)
    return LlamaCppEngine(
        resolve_llm(settings.model, settings.lora, merge=settings.merge_embedded, merged_quant=settings.embedded_quant, notice=notice),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_gpu_layers=settings.n_gpu_layers,
        prefix_cache=settings.prefix_cache,
    )


def make_image_engine(settings: ImageSettings) -> ImageEngine:
    """A diffusers pipeline for the configured model and device (not loaded yet: load() is the slow part)."""
    from diffchat_tui.engines.image_diffusers import DiffusersEngine  # PIL and metadata readers: a text edit needs neither

    return DiffusersEngine(
        settings.model,
        device=settings.device,
        single_file_config=settings.single_file_config,
        attention_slicing=settings.attention_slicing,
        cpu_offload=settings.cpu_offload,
    )
