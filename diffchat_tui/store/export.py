"""A session as Markdown (with image links) and as JSON, written beside the database."""

from __future__ import annotations

import json
from pathlib import Path

from diffchat_tui.core.session import EditTree, creation_order
from diffchat_tui.paths import write_atomically
from diffchat_tui.store.sessions import SessionStore


def _write(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"))


def export_session(store: SessionStore, session_id: int, folder: Path | None = None) -> tuple[Path, Path]:
    """Every version of the session, oldest first, with its parent; returns (markdown, json) paths."""
    return export_tree(store.load(session_id), session_id, folder or store.folder / "exports")


def export_tree(tree: EditTree, session_id: int, folder: Path) -> tuple[Path, Path]:
    """The same from memory: what the TUI exports, including versions the store could not save yet."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = sorted(tree.nodes.values(), key=creation_order)
    lines = [f"# diffchat session {session_id}", ""]
    for node in nodes:
        heading = node.instruction if node.kind == "edit" else {"source": "prompt", "manual": "edited by hand"}[node.kind]
        parent = f" (from version {node.parent_id})" if node.parent_id else ""
        mark = " — current" if node.id == tree.cursor else ""
        choice = f" — {node.choice}" if node.choice else ""
        lines += [f"## Version {node.id}: {heading}{parent}{choice}{mark}", "", f"> {node.prompt}", ""]
        if node.image_path:
            lines += [f"![version {node.id}]({Path(node.image_path).resolve().as_uri()})", ""]
    markdown = folder / f"session-{session_id}.md"
    _write(markdown, "\n".join(lines))
    data = {
        "session": session_id,
        "cursor": tree.cursor,
        "nodes": [node.__dict__ for node in nodes],
    }
    as_json = folder / f"session-{session_id}.json"
    _write(as_json, json.dumps(data, ensure_ascii=False, indent=2))
    return markdown, as_json
