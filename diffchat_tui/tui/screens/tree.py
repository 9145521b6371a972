"""The whole edit tree: pick any version to jump there; typing then continues from it (a branch)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label, Tree

from diffchat_tui.core.session import EditTree, Node
from diffchat_tui.core.text import strip_escapes


def node_label(node: Node, current: bool) -> Text:
    label = Text("● " if current else "")
    if node.kind == "edit":
        label.append(strip_escapes(node.instruction), style="cyan")
        label.append(" → ")
    label.append(strip_escapes(node.prompt[:70]), style="dim" if node.choice == "rejected" else "")
    return label


class TreeScreen(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="close-tree")]

    def __init__(self, tree: EditTree) -> None:
        super().__init__()
        self.edit_tree = tree

    def compose(self) -> ComposeResult:
        yield Label("Edit tree — Enter jumps to a version; nothing is ever deleted")
        widget: Tree[int] = Tree("session", id="edit-tree")
        widget.show_root = False

        def grow(parent, node: Node) -> None:
            branch = parent.add(node_label(node, node.id == self.edit_tree.cursor), data=node.id, expand=True)
            for child in self.edit_tree.children(node.id):
                grow(branch, child)
            if not self.edit_tree.children(node.id):
                branch.allow_expand = False

        for root in self.edit_tree.roots():
            grow(widget.root, root)
        yield widget

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.focus()
        for line in range(tree.last_line + 1):
            node = tree.get_node_at_line(line)
            if node is not None and node.data == self.edit_tree.cursor:
                tree.move_cursor(node)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if event.node.data is not None:
            self.dismiss(event.node.data)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
