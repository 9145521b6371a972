"""Several targets for one instruction: the user keeps one; the choice is recorded for preference training.

With an image model on, each candidate was rendered with the same seed, and the pictures stand side by side.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

from diffchat_tui.core.text import strip_escapes
from diffchat_tui.tui.widgets.preview import image_widget_class


class CandidatesScreen(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Discard all", id="discard-candidates")]

    def __init__(self, instruction: str, targets: list[str], pictures: list[Path | None] = (), protocol: str = "auto") -> None:
        super().__init__()
        self.instruction = instruction
        self.targets = targets
        self.pictures = list(pictures)
        self.protocol = protocol

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Keep which one? ({strip_escapes(self.instruction)})"))
        image_class = image_widget_class(self.protocol) if any(self.pictures) else None
        if image_class is not None:
            with Horizontal(id="candidate-pictures"):
                for index, picture in enumerate(self.pictures, 1):
                    with Vertical(classes="candidate-picture"):
                        if picture is not None and picture.is_file():
                            yield image_class(str(picture), classes="picture")
                        yield Label(str(index))
        yield OptionList(*(Text(f"{i + 1}. {strip_escapes(t)}") for i, t in enumerate(self.targets)), id="candidates")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
