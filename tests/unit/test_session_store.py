import sqlite3

import pytest

from diffchat_tui.core.errors import StoreError
from diffchat_tui.core.prompting import Turn
from diffchat_tui.core.session import EditTree, Node
from diffchat_tui.core.worddiff import word_diff
from diffchat_tui.store.migrations import MIGRATIONS
from diffchat_tui.store.sessions import SessionStore


def grow(store: SessionStore, session: int, parent: int | None, kind: str, prompt: str, instruction: str = "") -> Node:
    return store.add_node(session, Node(0, parent, kind, prompt, instruction))


def test_nodes_persist_with_the_cursor_and_the_database_is_wal(temp_home):
    store = SessionStore()
    session = store.new_session()
    root = grow(store, session, None, "source", "a cat on a sofa")
    night = grow(store, session, root.id, "edit", "a cat on a sofa, night", "make it night")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    store.close()

    again = SessionStore()  # a new process would see exactly this
    tree = again.load(session)
    assert tree.cursor == night.id and tree.current.prompt == "a cat on a sofa, night"
    assert again.last_session() == session
    assert again.sessions()[0].title == "a cat on a sofa" and again.sessions()[0].turns == 2


def test_the_tree_gives_conversations_undo_redo_and_branches(temp_home):
    store = SessionStore()
    session = store.new_session()
    root = grow(store, session, None, "source", "a cat")
    first = grow(store, session, root.id, "edit", "a cat, night", "make it night")
    second = grow(store, session, first.id, "edit", "a cat, night, rain", "add rain")
    tree = store.load(session)
    assert tree.conversation() == ("a cat", [Turn("make it night", "a cat, night"), Turn("add rain", "a cat, night, rain")])
    assert tree.undo_target().id == first.id
    tree.cursor = first.id
    assert tree.redo_target(came_from=second.id).id == second.id

    branch = grow(store, session, first.id, "edit", "a cat, night, snow", "add snow")
    manual = grow(store, session, branch.id, "manual", "a dog, night, snow")
    after = grow(store, session, manual.id, "edit", "a dog, night, snow, moon", "add a moon")
    tree = store.load(session)
    assert [node.id for node in tree.children(first.id)] == [second.id, branch.id]  # nothing deleted
    assert tree.conversation(after.id) == ("a dog, night, snow", [Turn("add a moon", "a dog, night, snow, moon")])
    assert [node.id for node in tree.lineage(after.id)] == [root.id, first.id, branch.id, manual.id, after.id]


def test_candidates_become_preference_pairs(temp_home):
    store = SessionStore()
    session = store.new_session()
    root = grow(store, session, None, "source", "a cat")
    kids = [store.add_node(session, Node(0, root.id, "edit", f"a cat, {c}", "add a hat", candidate_group="g1"))
            for c in ("red hat", "blue hat", "hat")]
    store.set_choice([k.id for k in kids], chosen=kids[1].id)
    pairs = store.preference_pairs(session)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a cat, blue hat", "a cat, red hat"), ("a cat, blue hat", "a cat, hat")]
    assert pairs[0]["source"] == "a cat" and pairs[0]["instruction"] == "add a hat"
    store.set_cursor(session, kids[1].id)
    assert store.load(session).redo_target() is None


def test_a_corrupt_database_is_a_one_line_error(temp_home):
    store = SessionStore()
    store.close()
    store.path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the session database"):
        SessionStore()


def test_a_failed_write_leaves_nothing_half_done(temp_home):
    store = SessionStore()
    session = store.new_session()
    with pytest.raises(sqlite3.IntegrityError):
        store.add_node(session, Node(0, None, "bogus-kind", "x"))
    assert store.load(session).nodes == {}


def test_word_diff_marks_additions_and_removals():
    assert word_diff("a cat on a sofa", "a dog on a sofa, night") == [
        ("same", "a"), ("removed", "cat"), ("added", "dog"), ("same", "on a sofa,"), ("added", "night"),
    ]
    assert EditTree().conversation() == ("", [])
