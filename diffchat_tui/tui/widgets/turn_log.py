"""The turn log: each version's instruction and prompt, with what changed highlighted word by word,
and under an edit the script the model wrote (its operations are the change, exactly)."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from diffchat_tui.core.session import Node
from diffchat_tui.core.text import strip_escapes
from diffchat_tui.core.worddiff import word_diff

STYLES = {"same": "", "added": "bold green", "removed": "red strike"}
KIND_LABEL = {"source": "prompt", "manual": "edited by hand"}
SCRIPT_STYLES = {"-": "red", "+": "green", "*": "green", "~": "yellow", "=": "yellow", "!": "magenta"}
"""Script lines by their first character; `!` lines edit the negative prompt."""


def turn_text(node: Node, previous: Node | None) -> Text:
    """Rich Text built from plain strings: model output can never be read as markup."""
    text = Text()
    label = f"› {node.instruction}" if node.kind == "edit" else f"› {KIND_LABEL[node.kind]}"
    text.append(strip_escapes(label), style="italic cyan")
    if node.choice == "chosen":
        text.append("  (kept of several)", style="dim")
    text.append("\n")
    if previous is None:
        text.append(strip_escapes(node.prompt))
        return text
    for op, words in word_diff(previous.prompt, node.prompt):
        text.append(strip_escapes(words), style=STYLES[op])
        text.append(" ")
    for line in node.script.splitlines():
        text.append("\n  " + strip_escapes(line), style=f"dim {SCRIPT_STYLES.get(line[:1], '')}".strip())
    return text


class PendingTurn(Static):
    """The turn being generated: the instruction, then the model's words as they stream in."""

    def __init__(self, instruction: str) -> None:
        super().__init__(id="pending", classes="turn pending")
        self.instruction = strip_escapes(instruction)
        self.written = ""
        self.update(self.content())

    def content(self) -> Text:
        text = Text(f"› {self.instruction}\n", style="italic cyan")
        text.append(strip_escapes(self.written) or "…", style="dim")
        return text

    def add(self, piece: str) -> None:
        self.written += piece
        self.update(self.content())


class TurnLog(VerticalScroll):
    """Shows the lineage of the current node; a pending turn streams in at the bottom."""

    can_focus = False

    def show(self, turns: list[tuple[Node, Node | None]]) -> None:
        self.remove_children()
        self.mount_all(Static(turn_text(node, previous), classes="turn") for node, previous in turns)
        self.call_after_refresh(self.scroll_end, animate=False)

    def start_pending(self, instruction: str) -> None:
        self.mount(PendingTurn(instruction))
        self.scroll_end(animate=False)

    def stream(self, piece: str) -> None:
        for pending in self.query(PendingTurn):
            pending.add(piece)

    def end_pending(self) -> None:
        self.query(PendingTurn).remove()
