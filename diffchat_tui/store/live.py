"""The session the user is in: its edit tree and cursor, with every change written through to the store.

The TUI's MainScreen keeps widgets and workers; sources, candidates, which candidate was kept, undo,
redo and branches all happen here, so they run (and are tested) without Textual or a model.

When a write fails (a full disk, another process holding the lock, a damaged file) nothing is lost: the
change stays in memory (a new version gets a temporary negative id), the failed writes are kept in
order and replayed by flush() (before the next write, or when the app retries), and `unsaved` says how
many are waiting. The app tells the user, can export the session from memory, and says so on exit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffchat_tui.core.errors import StoreError
from diffchat_tui.core.prompting import Turn
from diffchat_tui.core.session import EditTree, Node, NodeKind
from diffchat_tui.store.sessions import SessionStore

if TYPE_CHECKING:
    from diffchat_tui.engines.image import RenderRequest  # a type only: the store does not depend on engines


class LiveSession:
    def __init__(self, store: SessionStore, session_id: int, tree: EditTree | None = None) -> None:
        self.store = store
        self.id = session_id
        self.tree = tree or EditTree()
        self.redo_from: int | None = None
        """The node the last undo left, so redo goes back down the same branch."""
        self._pending: list[Callable[[], None]] = []
        self._next_temporary_id = -1
        self.save_error: str | None = None
        """Why the last write failed, while some are still waiting; None when everything is on disk."""
        self._told_error: str | None = None

    @classmethod
    def new(cls, store: SessionStore) -> LiveSession:
        """A new session; if the store cannot even create it, the session lives in memory until it can."""
        session = cls(store, 0)
        session._write(lambda: setattr(session, "id", store.new_session()))
        return session

    # --- writing through, and keeping what could not be written ---

    @property
    def unsaved(self) -> int:
        """How many writes are waiting for the store."""
        return len(self._pending)

    def _write(self, action: Callable[[], None]) -> None:
        self._pending.append(action)
        self.flush()

    def flush(self) -> bool:
        """Replay the writes the store refused, oldest first; True when everything is on disk."""
        while self._pending:
            try:
                self._pending[0]()
            except StoreError as exc:
                self.save_error = str(exc)
                return False
            self._pending.pop(0)
        self.save_error = None
        return True

    def saving_news(self) -> str | None:
        """What the user has not been told about saving yet: a write refused (once per reason), or
        everything saved again after that; None when there is no news."""
        news = None
        if self.save_error and self.save_error != self._told_error:
            news = f"not saved: {self.save_error} — kept in memory and retried; ctrl+e exports them"
        elif not self.save_error and self._told_error:
            news = "saved: every version is on disk again"
        self._told_error = self.save_error
        return news

    def _add_node(self, node: Node, move_cursor: bool = True) -> Node:
        """Into the tree now (with a temporary id); into the store now or, if it fails, when flush() can."""
        node.id = self._next_temporary_id
        self._next_temporary_id -= 1
        self.tree.add(node)

        def save() -> None:
            temporary = node.id
            self.store.add_node(self.id, node, move_cursor=move_cursor)
            self._renumber(temporary, node.id)

        self._write(save)
        return node

    def _renumber(self, temporary: int, saved: int) -> None:
        """A version reached the store: its real id replaces the temporary one everywhere in memory."""
        self.tree.nodes[saved] = self.tree.nodes.pop(temporary)
        for other in self.tree.nodes.values():
            if other.parent_id == temporary:
                other.parent_id = saved
        if self.tree.cursor == temporary:
            self.tree.cursor = saved
        if self.redo_from == temporary:
            self.redo_from = saved

    @classmethod
    def open(cls, store: SessionStore, session_id: int) -> LiveSession:
        """A saved session with its cursor; BadInput when there is no such session."""
        return cls(store, session_id, store.load(session_id))

    @property
    def current(self) -> Node | None:
        return self.tree.current

    def conversation(self, node_id: int | None = None) -> tuple[str, list[Turn]]:
        return self.tree.conversation(node_id)

    def move_to(self, node_id: int | None) -> None:
        self.tree.cursor = node_id
        node = self.tree.nodes.get(node_id) if node_id is not None else None
        # The node's own id at write time: a version saved late has its real id by then.
        self._write(lambda: self.store.set_cursor(self.id, node.id if node is not None else None))

    def add_source(
        self,
        prompt: str,
        kind: NodeKind = "source",
        parent_id: int | None = None,
        image_path: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Node:
        """A prompt the user gave (typed, from a picture, or edited by hand); the cursor moves to it."""
        node = self._add_node(Node(0, parent_id, kind, prompt, image_path=image_path, params=params or {}))
        self.move_to(node.id)
        return node

    def add_candidates(self, instruction: str, parent_id: int | None, answers: list[Turn], model: str) -> list[Node]:
        """The model's answers to one instruction (target, script, negative prompt); the cursor stays until one is kept."""
        group = uuid.uuid4().hex if len(answers) > 1 else None
        return [
            self._add_node(Node(0, parent_id, "edit", answer.target, instruction, {"negative_prompt": answer.negative},
                                model=model, candidate_group=group, script=answer.script), move_cursor=False)  # fmt: skip
            for answer in answers
        ]

    def keep(self, node: Node, group: list[Node], params: dict[str, Any]) -> None:
        """The user keeps one answer (its siblings are passed over) and renders it with these parameters.

        When the answer's script edited the negative prompt (`!` operations), its negative prompt wins
        over the one in params; otherwise the user's own (the parameter bar's) stays.
        """
        if any(line.startswith("!") for line in node.script.splitlines()):
            params = {**params, "negative_prompt": node.params.get("negative_prompt", "")}
        if len(group) > 1:
            self._write(lambda: self.store.set_choice([n.id for n in group], chosen=node.id))
            for other in group:
                other.choice = "chosen" if other is node else "rejected"
        node.params = params
        self._write(lambda: self.store.set_params(node.id, params))  # prompt-only mode renders nothing, and they must still last
        self.move_to(node.id)

    def pass_over(self, group: list[Node]) -> None:
        """None of the candidates was kept: all are recorded as rejected, and the cursor stays."""
        self._write(lambda: self.store.set_choice([n.id for n in group], chosen=0))
        for node in group:
            node.choice = "rejected"

    def undo(self) -> Node | None:
        """Back to the parent version; None when there is none."""
        target = self.tree.undo_target()
        if target is not None:
            self.redo_from = self.tree.cursor
            self.move_to(target.id)
        return target

    def redo(self) -> Node | None:
        """Down to the child the last undo came from, else the newest kept child; None when there is none."""
        target = self.tree.redo_target(self.redo_from)
        if target is not None:
            self.move_to(target.id)
        return target

    def image_path(self, node: Node) -> Path:
        """Where a version's render is written."""
        return self.store.images_dir(self.id) / f"node-{node.id}.png"

    def png_metadata(self, node: Node, image_model: str) -> dict[str, Any]:
        """What a version's PNG says about where it came from (its `diffchat` chunk)."""
        source, turns = self.conversation(node.id)
        return {"session": self.id, "node": node.id, "source_prompt": source, "instructions": [t.instruction for t in turns],
                "scripts": [t.script for t in turns], "llm": node.model, "image_model": image_model}  # fmt: skip

    def set_image(self, node: Node, path: Path, params: dict[str, Any], rendered: RenderRequest) -> None:
        """The render is on disk: record it with the parameters it really used (the model's defaults filled in)."""
        filled = {**params, "steps": rendered.steps, "cfg_scale": rendered.cfg_scale, "width": rendered.width, "height": rendered.height}
        node.image_path, node.params = str(path), filled
        self._write(lambda: self.store.set_image(node.id, path, filled))
