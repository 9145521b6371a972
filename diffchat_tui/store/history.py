"""Searchable history: every TUI session and every one-shot `diffchat edit`, found by what was said.

One-shot edits are logged as sessions of their own (origin `edit`), so the TUI can open them like any
other. Search runs on SQLite's FTS5 index of prompts and instructions (migration 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diffchat_tui.core.prompting import Turn
from diffchat_tui.core.session import Node
from diffchat_tui.store.sessions import SessionStore, guarded

ORIGINS = ("tui", "edit")


@dataclass(frozen=True)
class Hit:
    session: int
    node: int
    origin: str
    kind: str
    instruction: str
    prompt: str
    snippet: str
    """The matching words marked with [brackets]."""
    created_at: str

    def as_json(self) -> dict:
        return self.__dict__


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query that cannot be a syntax error: every word quoted, all required."""
    words = re.findall(r"\w+", text)
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


@guarded
def search(store: SessionStore, text: str, limit: int = 20) -> list[Hit]:
    """Versions whose prompt or instruction holds every word of text, best match first."""
    query = fts_query(text)
    if not query:
        return []
    rows = store.db.execute(
        "SELECT n.id, n.session_id, n.kind, n.instruction, n.prompt, n.created_at, s.origin, "
        "snippet(nodes_fts, -1, '[', ']', '…', 12) AS snippet "
        "FROM nodes_fts JOIN nodes n ON n.id = nodes_fts.rowid JOIN sessions s ON s.id = n.session_id "
        "WHERE nodes_fts MATCH ? ORDER BY bm25(nodes_fts), n.id DESC LIMIT ?",
        (query, limit),
    ).fetchall()
    return [Hit(r["session_id"], r["id"], r["origin"], r["kind"], r["instruction"], r["prompt"], r["snippet"], r["created_at"]) for r in rows]


@guarded
def reindex(store: SessionStore) -> int:
    """Rebuild the full-text index from the nodes; returns how many versions it holds."""
    with store.transaction():
        store.db.execute("INSERT INTO nodes_fts(nodes_fts) VALUES ('rebuild')")
    return store.db.execute("SELECT COUNT(*) FROM nodes").fetchone()[0]


def log_edit(store: SessionStore, source: str, turns: list[Turn], model: str, negative: str = "") -> int:
    """A one-shot edit as a session of its own: the source, then each turn; returns the session id."""
    session = store.new_session(origin="edit")
    parent = store.add_node(session, Node(0, None, "source", source, params={"negative_prompt": negative}))
    for turn in turns:
        node = Node(0, parent.id, "edit", turn.target, turn.instruction, {"negative_prompt": turn.negative}, model=model, script=turn.script)
        parent = store.add_node(session, node)
    return session
