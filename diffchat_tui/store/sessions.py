"""Sessions on disk: every node committed as it is made, so a crash loses at most the turn in flight."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput, StoreError
from diffchat_tui.core.session import EditTree, Node
from diffchat_tui.store.migrations import migrate

DB_NAME = "diffchat.db"
BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another process's write lock before it counts as failed."""
LOCKED_RETRIES = 2
"""Whole-transaction retries after the busy timeout, for a lock held across it."""


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Every sqlite3 error leaves the store as a StoreError with one line that says which file and why;
    a locked database is retried first."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        store = args[0]
        for attempt in range(LOCKED_RETRIES + 1):
            try:
                return method(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == LOCKED_RETRIES:
                    raise StoreError(f"cannot use the session database {store.path}: {exc}") from None
                time.sleep(0.1 * (attempt + 1))
            except sqlite3.DatabaseError as exc:  # malformed, not a database; a constraint failure is our bug, not the file's
                if type(exc) is not sqlite3.DatabaseError:
                    raise
                raise StoreError(f"the session database {store.path} is damaged ({exc}); move it away to start afresh") from None
        raise AssertionError("unreachable")

    return guarded


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SessionInfo:
    id: int
    title: str
    created_at: str
    updated_at: str
    turns: int
    origin: str = "tui"
    """`tui`, or `edit` for a logged one-shot `diffchat edit`."""


class SessionStore:
    """One SQLite database in WAL mode; each write is its own committed transaction."""

    def __init__(self, folder: Path | None = None, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.folder = folder or paths.data_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self._lock = threading.RLock()
        try:
            # The TUI writes from worker threads; sqlite3 serialises, and every call commits.
            self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")  # wait for another process's write lock
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            migrate(self.db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the session database {self.path}: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT: all of it lands, or none of it."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")  # a full disk may refuse the commit itself
            except BaseException:
                if self.db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.db.close()

    def images_dir(self, session_id: int) -> Path:
        folder = self.folder / "images" / f"session-{session_id}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def stored_path(self, path: Path) -> str:
        """Image paths under the data dir are kept relative to it, so a moved DIFFCHAT_HOME keeps its pictures."""
        try:
            return str(Path(path).resolve().relative_to(self.folder.resolve()))
        except ValueError:
            return str(path)

    def real_path(self, stored: str | None) -> str | None:
        if not stored:
            return stored
        return stored if Path(stored).is_absolute() else str(self.folder / stored)

    @guarded
    def new_session(self, title: str = "", origin: str = "tui") -> int:
        """A new session; origin says where it came from: `tui`, or `edit` for a logged one-shot edit."""
        now = _now()
        cursor = self.db.execute(
            "INSERT INTO sessions (title, created_at, updated_at, origin) VALUES (?, ?, ?, ?)", (title, now, now, origin)
        )
        return int(cursor.lastrowid)

    @guarded
    def sessions(self, limit: int | None = None) -> list[SessionInfo]:
        """Newest first."""
        rows = self.db.execute(
            "SELECT s.*, (SELECT COUNT(*) FROM nodes n WHERE n.session_id = s.id) AS turns "
            "FROM sessions s ORDER BY s.updated_at DESC, s.id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
        return [SessionInfo(r["id"], r["title"], r["created_at"], r["updated_at"], r["turns"], r["origin"]) for r in rows]

    @guarded
    def last_session(self) -> int | None:
        """The last TUI session (logged one-shot edits are history, not something to continue)."""
        row = self.db.execute("SELECT id FROM sessions WHERE origin = 'tui' ORDER BY updated_at DESC, id DESC LIMIT 1").fetchone()
        return int(row["id"]) if row else None

    @guarded
    def exists(self, session_id: int) -> bool:
        """Whether the session is there; a damaged file is a StoreError, never "no such session"."""
        if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is not None:
            return True
        self.check_integrity()
        return False

    @guarded
    def check_integrity(self) -> None:
        """PRAGMA quick_check: a damaged page may hide rows instead of raising."""
        problems = [row[0] for row in self.db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"database disk image is malformed: {problems[0]}")

    @guarded
    def add_node(self, session_id: int, node: Node, *, move_cursor: bool = True) -> Node:
        """Insert the node (its id is assigned here) and commit before returning."""
        node.created_at = node.created_at or _now()
        image_path = self.stored_path(Path(node.image_path)) if node.image_path else None
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO nodes (session_id, parent_id, kind, instruction, prompt, params, image_path, model, "
                "choice, candidate_group, created_at, script) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id, node.parent_id, node.kind, node.instruction, node.prompt, json.dumps(node.params),
                    image_path, node.model, node.choice, node.candidate_group, node.created_at, node.script,
                ),
            )
            new_id = int(cursor.lastrowid)
            title = node.prompt[:60] if node.parent_id is None else None
            self.db.execute(
                "UPDATE sessions SET updated_at = ?, title = CASE WHEN title = '' AND ? IS NOT NULL THEN ? ELSE title END"
                + (", cursor_node = ?" if move_cursor else "") + " WHERE id = ?",
                (_now(), title, title, *((new_id,) if move_cursor else ()), session_id),
            )
        node.id = new_id  # only once committed: a failed write leaves the node as it was, to be tried again
        return node

    @guarded
    def set_image(self, node_id: int, image_path: Path, params: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE nodes SET image_path = ?, params = ? WHERE id = ?", (self.stored_path(image_path), json.dumps(params), node_id)
            )

    @guarded
    def set_params(self, node_id: int, params: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute("UPDATE nodes SET params = ? WHERE id = ?", (json.dumps(params), node_id))

    @guarded
    def set_choice(self, node_ids: list[int], chosen: int) -> None:
        """Mark the kept candidate chosen and its siblings rejected, in one transaction."""
        with self.transaction():
            for node_id in node_ids:
                self.db.execute(
                    "UPDATE nodes SET choice = ? WHERE id = ?", ("chosen" if node_id == chosen else "rejected", node_id)
                )

    @guarded
    def set_cursor(self, session_id: int, node_id: int | None) -> None:
        with self.transaction():
            self.db.execute("UPDATE sessions SET cursor_node = ?, updated_at = ? WHERE id = ?", (node_id, _now(), session_id))

    @guarded
    def load(self, session_id: int) -> EditTree:
        session = self.db.execute("SELECT cursor_node FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if session is None:
            self.check_integrity()
            raise BadInput(f"no session {session_id} (see the session list in the app)")
        tree = EditTree(cursor=session["cursor_node"])
        for row in self.db.execute("SELECT * FROM nodes WHERE session_id = ? ORDER BY id", (session_id,)):
            tree.add(
                Node(
                    id=row["id"], parent_id=row["parent_id"], kind=row["kind"], prompt=row["prompt"],
                    instruction=row["instruction"], params=json.loads(row["params"]), image_path=self.real_path(row["image_path"]),
                    model=row["model"], choice=row["choice"], candidate_group=row["candidate_group"],
                    created_at=row["created_at"], script=row["script"],
                )
            )
        return tree

    @guarded
    def preference_pairs(self, session_id: int | None = None) -> list[dict[str, Any]]:
        """Chosen vs rejected candidates of the same turn, with the conversation that led to them."""
        where = "WHERE c.choice = 'chosen' AND r.choice = 'rejected'" + (" AND c.session_id = ?" if session_id else "")
        rows = self.db.execute(
            "SELECT c.session_id, c.id AS chosen_id, r.id AS rejected_id FROM nodes c JOIN nodes r "
            f"ON r.candidate_group = c.candidate_group AND r.id != c.id {where} ORDER BY c.id, r.id",
            (session_id,) if session_id else (),
        ).fetchall()
        trees: dict[int, EditTree] = {}
        pairs = []
        for row in rows:
            tree = trees.setdefault(row["session_id"], self.load(row["session_id"]))
            chosen, rejected = tree.nodes[row["chosen_id"]], tree.nodes[row["rejected_id"]]
            source, turns = tree.conversation(chosen.parent_id)
            pairs.append({
                "session": row["session_id"], "source": source, "history": [t.__dict__ for t in turns],
                "negative": tree.start_negative(chosen.parent_id), "instruction": chosen.instruction,
                "chosen": chosen.prompt, "rejected": rejected.prompt,
                "chosen_script": chosen.script, "rejected_script": rejected.script,
            })
        return pairs
