"""Ordered schema migrations. Append only: the database's user_version counts those applied."""

from __future__ import annotations

import sqlite3

from diffchat_tui.core.errors import StoreError

MIGRATIONS: list[str] = [
    # 1: sessions and the nodes of their edit trees.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        cursor_node INTEGER
    );
    CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        parent_id INTEGER REFERENCES nodes(id),
        kind TEXT NOT NULL CHECK (kind IN ('source', 'edit', 'manual')),
        instruction TEXT NOT NULL DEFAULT '',
        prompt TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        image_path TEXT,
        model TEXT NOT NULL DEFAULT '',
        choice TEXT CHECK (choice IN ('chosen', 'rejected')),
        candidate_group TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX nodes_by_session ON nodes(session_id, id);
    """,
    # 2: the edit script that made each edit (models answer with scripts since the diffchat-v2 layout).
    """
    ALTER TABLE nodes ADD COLUMN script TEXT NOT NULL DEFAULT '';
    """,
    # 3: searchable history: where a session came from (the TUI, or a one-shot `diffchat edit`), and a
    # full-text index of every prompt and instruction, kept by triggers and rebuildable from the nodes.
    """
    ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT 'tui';
    CREATE VIRTUAL TABLE nodes_fts USING fts5(prompt, instruction, content='nodes', content_rowid='id');
    INSERT INTO nodes_fts(nodes_fts) VALUES ('rebuild');
    CREATE TRIGGER nodes_fts_insert AFTER INSERT ON nodes BEGIN
        INSERT INTO nodes_fts(rowid, prompt, instruction) VALUES (new.id, new.prompt, new.instruction);
    END;
    CREATE TRIGGER nodes_fts_delete AFTER DELETE ON nodes BEGIN
        INSERT INTO nodes_fts(nodes_fts, rowid, prompt, instruction) VALUES ('delete', old.id, old.prompt, old.instruction);
    END;
    CREATE TRIGGER nodes_fts_update AFTER UPDATE OF prompt, instruction ON nodes BEGIN
        INSERT INTO nodes_fts(nodes_fts, rowid, prompt, instruction) VALUES ('delete', old.id, old.prompt, old.instruction);
        INSERT INTO nodes_fts(rowid, prompt, instruction) VALUES (new.id, new.prompt, new.instruction);
    END;
    """,
]


def migrate(connection: sqlite3.Connection) -> int:
    """Apply every migration not applied yet, each in its own transaction; returns the schema version."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(f"the session database is from a newer diffchat (schema {version} > {len(MIGRATIONS)}); update diffchat")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            connection.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
