"""Several targets for one instruction: the user keeps one; the choice is recorded for preference training."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

from diffchat_tui.core.text import strip_escapes


class CandidatesScreen(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Discard all", id="discard-candidates")]

    def __init__(self, instruction: str, targets: list[str]) -> None:
        super().__init__()
        self.instruction = instruction
        self.targets = targets

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Keep which one? ({strip_escapes(self.instruction)})"))
        yield OptionList(*(Text(f"{i + 1}. {strip_escapes(t)}") for i, t in enumerate(self.targets)), id="candidates")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
