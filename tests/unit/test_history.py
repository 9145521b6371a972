"""Searchable history: one-shot edits logged as sessions, FTS5 search, and an index that can be rebuilt."""

import sqlite3

from diffchat_tui.core.prompting import Turn
from diffchat_tui.core.session import Node
from diffchat_tui.store.history import fts_query, log_edit, reindex, search
from diffchat_tui.store.sessions import SessionStore


def test_logged_edits_and_tui_sessions_are_found_by_their_words(temp_home):
    store = SessionStore()
    tui = store.new_session()
    root = store.add_node(tui, Node(0, None, "source", "a lighthouse on a cliff"))
    store.add_node(tui, Node(0, root.id, "edit", "a lighthouse on a cliff, storm", "make it stormy", script="+ storm"))
    logged = log_edit(store, "a cat on a sofa", [Turn("add a red umbrella", "a cat on a sofa, a red umbrella", "+ a red umbrella")], "embedded")

    hits = search(store, "umbrella")
    assert [(h.session, h.origin, h.instruction) for h in hits] == [(logged, "edit", "add a red umbrella")]
    assert "[umbrella]" in hits[0].snippet
    assert {h.session for h in search(store, "lighthouse")} == {tui}
    assert [h.instruction for h in search(store, "stormy lighthouse")] == ["make it stormy"]  # every word must match
    assert search(store, "giraffe") == [] and search(store, '"*( AND') == []  # a query is never a syntax error
    assert store.last_session() == tui  # --continue goes to the TUI session, not the logged edit
    assert [s.origin for s in store.sessions()] == ["edit", "tui"]
    assert store.load(logged).current.script == "+ a red umbrella"


def test_the_index_can_be_rebuilt(temp_home):
    store = SessionStore()
    log_edit(store, "a fox in the snow", [Turn("make it night", "a fox in the snow, night")], "m")
    store.db.execute("INSERT INTO nodes_fts(nodes_fts) VALUES ('delete-all')")
    assert search(store, "fox") == []
    assert reindex(store) == 2
    assert len(search(store, "fox")) == 2


def test_an_older_database_gets_the_index_of_what_it_already_holds(temp_home, tmp_path):
    from diffchat_tui.store.migrations import MIGRATIONS

    folder = tmp_path / "old"
    folder.mkdir()
    old = sqlite3.connect(folder / "diffchat.db")
    for number, script in enumerate(MIGRATIONS[:2], 1):
        old.executescript(f"{script}\nPRAGMA user_version = {number};")
    old.execute("INSERT INTO sessions (title, created_at, updated_at) VALUES ('x', 't', 't')")
    old.execute("INSERT INTO nodes (session_id, kind, prompt, created_at) VALUES (1, 'source', 'an old harbour at dawn', 't')")
    old.commit()
    old.close()
    assert [hit.prompt for hit in search(SessionStore(folder), "harbour")] == ["an old harbour at dawn"]


def test_fts_query_quotes_every_word():
    assert fts_query('red "umbrella" AND (x') == '"red" "umbrella" "AND" "x"'
    assert fts_query("   ") == ""
