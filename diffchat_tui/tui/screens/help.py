"""F1: the keys (with their ids, for `ui.keys` in config.toml) and how to get pictures through tmux."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from diffchat_tui.tui.screens.main import MainScreen

TMUX_NOTE = (
    "Pictures under tmux: sixel and kitty images need passthrough. Add to ~/.tmux.conf:\n"
    "  set -g allow-passthrough on\n"
    "and for sixel a tmux built with sixel support (3.4+). Otherwise set ui.image_protocol = \"halfcell\".\n\n"
    "Slash commands in the input: /open PATH, /new, /tree, /export, /help. Everything is also in the\n"
    "command palette (ctrl+p). Remap keys in config.toml, e.g.  [ui.keys]  undo = \"ctrl+u\""
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="close-help")]

    def compose(self) -> ComposeResult:
        table = Table("key", "id", "does", box=None, pad_edge=False)
        for binding in [*self.app.BINDINGS, *MainScreen.BINDINGS]:
            if isinstance(binding, Binding) and binding.id:
                keys = self.app.settings.ui.keys.get(binding.id, binding.key)
                table.add_row(Text(keys), Text(binding.id), Text(binding.description))
        with VerticalScroll(id="help-body"):
            yield Static(Text("diffchat — keys", style="bold"))
            yield Static(table)
            yield Static(Text("\n" + TMUX_NOTE))
