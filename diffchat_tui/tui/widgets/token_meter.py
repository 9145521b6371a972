"""How many CLIP tokens the current prompt is: `63/75 · chunk 1`, marked when an edit starts a new chunk."""

from __future__ import annotations

from textual.widgets import Label

from diffchat_tui.core.clip_tokens import count_tokens


class TokenMeter(Label):
    """SD 1.x/2.x read 75 tokens a chunk; words past a boundary weigh differently, so the user sees where it is."""

    def show(self, prompt: str, previous: str | None = None) -> None:
        counted = count_tokens(prompt)
        crossed = previous is not None and len(counted.chunks) > len(count_tokens(previous).chunks)
        self.update(f"{counted.label}" + ("  ⚠ new chunk" if crossed else ""))
        self.set_class(crossed, "crossed")
        self.tooltip = f"{counted.total} CLIP tokens; chunks of 75: {', '.join(map(str, counted.chunks))}"
