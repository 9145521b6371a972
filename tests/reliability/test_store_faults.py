"""Items 2 and 6: the session store refuses writes (disk full, locked, damaged, newer) and nothing is lost."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading

import pytest

from diffchat_tui.core.errors import StoreError
from diffchat_tui.core.prompting import Turn
from diffchat_tui.core.session import Node
from diffchat_tui.store.live import LiveSession
from diffchat_tui.store.migrations import MIGRATIONS
from diffchat_tui.store.sessions import SessionStore
from diffchat_tui.tui.app import DiffchatApp, LaunchOptions, rescue
from tests.reliability.conftest import assert_one_line_error
from tests.tui.conftest import wait_until

FULL = "database or disk is full"


class FullDisk:
    """The store's connection, refusing every write while `full` is set, as SQLite does on a full disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.full = db, False

    def execute(self, sql: str, *args):
        if self.full and sql.split()[0].upper() in ("BEGIN", "INSERT", "UPDATE", "COMMIT"):
            raise sqlite3.OperationalError(FULL)
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


def full_disk_store(folder=None) -> tuple[SessionStore, FullDisk]:
    store = SessionStore(folder)
    store.db = disk = FullDisk(store.db)
    return store, disk


def test_a_full_disk_keeps_the_versions_in_memory_and_saves_them_later(temp_home):
    store, disk = full_disk_store()
    session = LiveSession.new(store)
    session.add_source("a cat on a sofa", params={"seed": 3})
    disk.full = True
    [node] = session.add_candidates("make it night", session.tree.cursor, [Turn("make it night", "a cat on a sofa, night")], "m")
    session.keep(node, [node], {"seed": 3})
    assert session.unsaved and FULL in session.save_error and node.id < 0  # in memory, with a temporary id
    assert session.current.prompt == "a cat on a sofa, night"
    assert not session.flush()
    disk.full = False
    assert session.flush() and session.save_error is None and node.id > 0
    again = LiveSession.open(SessionStore(store.folder), session.id)
    assert again.current.prompt == "a cat on a sofa, night" and again.current.parent_id == session.tree.roots()[0].id


def test_a_session_the_store_cannot_even_create_lives_in_memory(temp_home):
    store, disk = full_disk_store()
    disk.full = True
    session = LiveSession.new(store)
    session.add_source("a cat")
    assert session.unsaved == 3 and session.id == 0
    disk.full = False
    assert session.flush() and session.id > 0
    assert SessionStore(store.folder).load(session.id).current.prompt == "a cat"


def test_another_process_holding_the_lock_is_waited_for_then_retried(temp_home):
    store = SessionStore(busy_timeout_ms=200)
    session = LiveSession.new(store)
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the write lock, held by a second connection
    session.add_source("a cat")
    assert session.unsaved and "locked" in session.save_error
    other.execute("COMMIT")
    assert session.flush()

    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()  # released within the busy timeout + retries
    session.add_source("a dog")
    assert session.unsaved == 0
    other.close()


def test_the_tui_keeps_a_generated_turn_through_a_full_disk_and_can_export_it(temp_home, tui_settings):
    store, disk = full_disk_store()
    tui_settings.ui = tui_settings.ui.model_copy(update={"render": False})
    tui_settings.llm = tui_settings.llm.model_copy(update={"max_tokens": 24})
    app = DiffchatApp(tui_settings, LaunchOptions(), store=store)

    async def scenario():
        async with app.run_test(size=(140, 45)) as pilot:
            screen = app.screen
            await pilot.click("#instruction")
            await pilot.press(*"a cat on a sofa", "enter")
            await wait_until(pilot, lambda: screen.session.current is not None, what="the source")
            disk.full = True
            await pilot.press(*"make it night", "enter")
            await wait_until(pilot, lambda: screen.session.current is not None and screen.session.current.kind == "edit", what="the edit")
            notes = [str(note.message) for note in app._notifications]
            assert any("not saved" in note and FULL in note for note in notes), notes
            screen.action_export()
            exported = json.loads((store.folder / "exports" / f"session-{screen.session_id}.json").read_text())
            assert [node["kind"] for node in exported["nodes"]] == ["source", "edit"]
            disk.full = False
            screen.retry_saving()
            assert screen.session.unsaved == 0
            return screen.session.current.prompt

    prompt = asyncio.run(scenario())
    assert SessionStore(store.folder).load(store.last_session()).current.prompt == prompt


def test_rescue_writes_the_unsaved_session_somewhere(temp_home):
    store, disk = full_disk_store()
    disk.full = True
    session = LiveSession.new(store)
    session.add_source("a cat")
    where = rescue(session, store)
    assert "exports" in where


def corrupt(store: SessionStore) -> None:
    session = store.new_session()
    for _ in range(3):
        store.add_node(session, Node(0, None, "source", "a cat " * 50))
    store.close()
    data = bytearray(store.path.read_bytes())
    for offset in range(4096, len(data), 4096):  # every page after the first: a damaged file, not a missing one
        data[offset : offset + 100] = b"\xff" * 100
    store.path.write_bytes(bytes(data))


@pytest.mark.parametrize("flag", [["--session", "1"], ["--continue"]])
def test_a_damaged_database_is_named_as_damaged(cli, temp_home, flag):
    corrupt(SessionStore())
    assert_one_line_error(cli(*flag), says="is damaged")


def test_a_database_from_a_newer_diffchat_is_one_line(cli, temp_home):
    store = SessionStore()
    store.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    store.close()
    assert_one_line_error(cli("--continue"), says="newer diffchat")
    with pytest.raises(StoreError):
        SessionStore()


def test_image_paths_survive_a_moved_home(temp_home, tmp_path):
    store = SessionStore()
    session = LiveSession.new(store)
    node = session.add_source("a cat")
    picture = session.image_path(node)
    picture.write_bytes(b"png")
    store.set_image(node.id, picture, {})
    assert not store.db.execute("SELECT image_path FROM nodes").fetchone()[0].startswith("/")
    store.close()
    moved = tmp_path / "moved"
    (temp_home / "data").rename(moved)
    assert SessionStore(moved).load(session.id).current.image_path == str(moved / "images" / f"session-{session.id}" / picture.name)


def test_busy_timeout_is_set(temp_home):
    assert SessionStore().db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_saving_news_is_told_once_each_way(temp_home):
    store, disk = full_disk_store()
    session = LiveSession.new(store)
    assert session.saving_news() is None
    disk.full = True
    session.add_source("a cat")
    assert FULL in session.saving_news() and session.saving_news() is None  # once, not at every refresh
    disk.full = False
    session.flush()
    assert session.saving_news().startswith("saved") and session.saving_news() is None
