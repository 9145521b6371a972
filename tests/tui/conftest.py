"""Pilot helpers. textual-image asks the terminal for its cell size on import: do it once, guarded."""

from __future__ import annotations

import time

import pytest

try:
    import textual_image.widget  # noqa: F401
except Exception:  # noqa: BLE001 - no terminal here; the app falls back to no pictures
    pass


async def wait_until(pilot, predicate, timeout: float = 180.0, what: str = "condition") -> None:
    """Let the app run until predicate() holds; fail with a clear message instead of sleeping blindly."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.fixture
def tui_settings(tiny_models):
    """Settings for the app under test: the tiny pipeline, unicode pictures, the real embedded LLM."""
    from diffchat_tui.config import load_settings
    from diffchat_tui.engines.models import resolve_llm

    resolve_llm()  # build the merged model first: no screen should depend on whether its one-time notice shows
    settings = load_settings()
    settings.image = settings.image.model_copy(update={"model": str(tiny_models["image"]), "device": "cpu"})
    settings.ui = settings.ui.model_copy(update={"image_protocol": "unicode"})
    return settings
