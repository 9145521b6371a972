"""`diffchat history`: every TUI session and every one-shot edit, listed, searched, shown and exported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from diffchat_tui.core.errors import BadInput

AsJson = Annotated[bool, typer.Option("--json", help="JSON for scripts instead of a table.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many rows.")]
SessionId = Annotated[int, typer.Argument(help="A session id from `diffchat history list` or `search`.")]


def _store():
    from diffchat_tui.store.sessions import SessionStore

    return SessionStore()


def _store_with(session: int):
    """The store, once it is known to hold the session (a damaged file is its own error, see SessionStore.exists)."""
    store = _store()
    if not store.exists(session):
        raise BadInput(f"no session {session} (see diffchat history list)")
    return store


def _print(rows: list[dict], columns: list[str], title: str) -> None:
    """A table on a terminal; model output and user text are escaped, never read as markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(row.get(column, ""))) for column in columns))
    Console().print(table)


def list_sessions(limit: Limit = 20, as_json: AsJson = False) -> None:
    """The newest sessions: TUI sessions and logged `diffchat edit` runs."""
    sessions = _store().sessions(limit)
    rows = [{"id": s.id, "origin": s.origin, "versions": s.turns, "updated": s.updated_at, "title": s.title} for s in sessions]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    _print(rows, ["id", "origin", "versions", "updated", "title"], "diffchat history")


def search(
    text: Annotated[str, typer.Argument(help="Words to find in prompts and instructions (all of them).")],
    limit: Limit = 20,
    as_json: AsJson = False,
) -> None:
    """Versions whose prompt or instruction holds every word, best match first (SQLite full-text search)."""
    from diffchat_tui.store.history import search as find

    hits = find(_store(), text, limit)
    if as_json:
        print(json.dumps([hit.as_json() for hit in hits], ensure_ascii=False))
        return
    rows = [{"session": h.session, "version": h.node, "origin": h.origin, "instruction": h.instruction, "match": h.snippet} for h in hits]
    _print(rows, ["session", "version", "origin", "instruction", "match"], f"{len(hits)} matches for {text!r}")


def show(session: SessionId, as_json: AsJson = False) -> None:
    """Every version of a session, oldest first: instruction, script and prompt."""
    from diffchat_tui.core.session import creation_order

    tree = _store_with(session).load(session)
    nodes = sorted(tree.nodes.values(), key=creation_order)
    rows = [{"version": n.id, "parent": n.parent_id, "kind": n.kind, "instruction": n.instruction, "script": n.script,
             "prompt": n.prompt, "negative": n.params.get("negative_prompt", ""), "choice": n.choice} for n in nodes]  # fmt: skip
    if as_json:
        print(json.dumps({"session": session, "cursor": tree.cursor, "versions": rows}, ensure_ascii=False))
        return
    _print(rows, ["version", "parent", "instruction", "script", "prompt"], f"session {session}")


def export(
    session: SessionId,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder (default: DATA_DIR/exports).", file_okay=False)] = None,
) -> None:
    """Write a session as Markdown and JSON; prints both paths."""
    from diffchat_tui.store.export import export_session

    for path in export_session(_store_with(session), session, output):
        print(path)


def reindex() -> None:
    """Rebuild the full-text index from the stored versions (after restoring a backup, say)."""
    from diffchat_tui.store.history import reindex as rebuild

    print(f"diffchat: indexed {rebuild(_store())} versions")
