"""The message input: a pasted A1111 parameters block is read whole instead of cut to its first line."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input

from diffchat_tui.core.infotext import looks_like_parameters


class PromptInput(Input):
    class ParametersPasted(Message):
        """A block like A1111's "read generation parameters" text: prompt, Negative prompt:, Steps: ..."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def _on_paste(self, event: events.Paste) -> None:
        if looks_like_parameters(event.text):
            event.stop()
            self.post_message(self.ParametersPasted(event.text))
            return
        super()._on_paste(event)
