"""The edit tree: every version a node, nothing ever deleted, a cursor for where the user is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from diffchat_tui.core.prompting import Turn

NodeKind = Literal["source", "edit", "manual"]
"""source: the first prompt (typed or from a picture); edit: an instruction applied; manual: edited by hand."""


@dataclass
class Node:
    id: int
    parent_id: int | None
    kind: NodeKind
    prompt: str
    instruction: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    """The render parameters of this version: seed, steps, cfg_scale, width, height, negative_prompt."""
    image_path: str | None = None
    model: str = ""
    choice: Literal["chosen", "rejected"] | None = None
    """Set for candidates: the one the user kept, and the ones they passed over."""
    candidate_group: str | None = None
    created_at: str = ""
    script: str = ""
    """For edits: the edit script the model wrote (what the turn log shows as the change)."""


def creation_order(node: Node) -> tuple[bool, int]:
    """Oldest first. A version the store has not saved yet has a temporary id (-1, -2, ...): it is newer than
    every saved one."""
    return node.id < 0, abs(node.id)


@dataclass
class EditTree:
    """All nodes of one session, with parent links, and the node the user is on."""

    nodes: dict[int, Node] = field(default_factory=dict)
    cursor: int | None = None

    def add(self, node: Node) -> None:
        self.nodes[node.id] = node

    @property
    def current(self) -> Node | None:
        return self.nodes.get(self.cursor) if self.cursor is not None else None

    def children(self, node_id: int | None) -> list[Node]:
        """Children oldest first; candidates passed over are still children, just marked rejected."""
        return sorted((n for n in self.nodes.values() if n.parent_id == node_id), key=creation_order)

    def roots(self) -> list[Node]:
        return self.children(None)

    def lineage(self, node_id: int | None = None) -> list[Node]:
        """The path from the root down to the node (the cursor by default)."""
        path: list[Node] = []
        node = self.nodes.get(self.cursor if node_id is None else node_id)
        while node is not None:
            path.append(node)
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return path[::-1]

    def conversation(self, node_id: int | None = None) -> tuple[str, list[Turn]]:
        """The source prompt and the LLM turns leading to a node.

        A hand edit starts a fresh conversation: the model cannot know why the text changed.
        """
        path = self.lineage(node_id)
        start = max((index for index, node in enumerate(path) if node.kind != "edit"), default=0)
        turns, negative = [], self.start_negative(node_id)
        for node in path[start + 1 :]:
            negative = node.params.get("negative_prompt", negative)
            turns.append(Turn(node.instruction, node.prompt, node.script, negative))
        return path[start].prompt if path else "", turns

    def start_negative(self, node_id: int | None = None) -> str:
        """The negative prompt the conversation leading to a node started with."""
        path = self.lineage(node_id)
        start = max((index for index, node in enumerate(path) if node.kind != "edit"), default=0)
        return path[start].params.get("negative_prompt", "") if path else ""

    def undo_target(self) -> Node | None:
        current = self.current
        return self.nodes.get(current.parent_id) if current and current.parent_id is not None else None

    def redo_target(self, came_from: int | None = None) -> Node | None:
        """The child we last undid out of, else the newest kept child."""
        kids = [node for node in self.children(self.cursor) if node.choice != "rejected"]
        for node in kids:
            if node.id == came_from:
                return node
        return kids[-1] if kids else None

    def turn_log(self) -> list[tuple[Node, Node | None]]:
        """(node, previous node) pairs along the current lineage, for showing word diffs."""
        path = self.lineage()
        return [(node, path[index - 1] if index else None) for index, node in enumerate(path)]
