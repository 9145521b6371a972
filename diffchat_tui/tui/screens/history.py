"""Search every session and every logged `diffchat edit` as you type; Enter opens the version found."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from diffchat_tui.core.errors import DiffchatError
from diffchat_tui.core.text import strip_escapes
from diffchat_tui.store.history import Hit, search
from diffchat_tui.store.sessions import SessionStore


class HistoryScreen(ModalScreen[tuple[int, int] | None]):
    """Dismisses with (session id, version id), or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="close-history")]

    def __init__(self, store: SessionStore, text: str = "") -> None:
        super().__init__()
        self.store, self.text = store, text
        self.hits: list[Hit] = []

    def compose(self) -> ComposeResult:
        yield Label("Search prompts and instructions of every session (all words must match)")
        yield Input(self.text, placeholder="e.g. lighthouse storm", id="history-query")
        yield OptionList(id="history-hits")

    def on_mount(self) -> None:
        self.show(self.text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    def show(self, text: str) -> None:
        hits = self.query_one(OptionList)
        hits.clear_options()
        try:
            self.hits = search(self.store, text, limit=50) if text.strip() else []
        except DiffchatError as exc:
            self.notify(str(exc), severity="error")
            self.hits = []
        for hit in self.hits:
            where = f"session {hit.session} · v{hit.node}" + (" · edit" if hit.origin == "edit" else "")
            label = Text(f"{where}  ", style="dim")
            label.append(strip_escapes(hit.instruction or hit.kind), style="italic cyan")
            label.append("\n  " + strip_escapes(hit.snippet))
            hits.add_option(Option(label))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.hits:
            self.dismiss((self.hits[0].session, self.hits[0].node))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        hit = self.hits[event.option_index]
        self.dismiss((hit.session, hit.node))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
