"""kill -9 in the middle of a session loses nothing committed; --continue shows the same turns."""

import asyncio
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
import time

from diffchat_tui.store.sessions import SessionStore
from diffchat_tui.tui.app import DiffchatApp, LaunchOptions
from diffchat_tui.tui.widgets.turn_log import TurnLog
from tests.tui.conftest import wait_until


def node_count(store_folder) -> int:
    store = SessionStore(store_folder)
    try:
        return store.db.execute("SELECT COUNT(*) FROM nodes WHERE image_path IS NOT NULL").fetchone()[0]
    finally:
        store.close()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_kill_9_then_continue_shows_the_same_turns(tiny_models, temp_home, tui_settings):
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real `diffchat` in a real (pseudo) terminal
        os.execv(sys.executable, [sys.executable, "-m", "diffchat_tui", "--image-model", str(tiny_models["image"])])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 140, 0, 0))
    output = bytearray()

    def drain() -> None:
        os.set_blocking(fd, False)
        try:
            while chunk := os.read(fd, 65536):
                output.extend(chunk)
        except (BlockingIOError, OSError):
            pass

    data = temp_home / "data"
    try:
        wait_for(lambda: (drain(), b"Type a Stable Diffusion prompt" in output)[1], 180, "the first frame")
        os.write(fd, b"a cat on a sofa\r")
        wait_for(lambda: (drain(), node_count(data) == 1)[1], 180, "the first version on disk")
        os.write(fd, b"make it cyberpunk at night\r")
        wait_for(lambda: (drain(), node_count(data) == 2)[1], 180, "the second version on disk")
    finally:
        os.kill(pid, signal.SIGKILL)  # no clean shutdown, no flush: only what was committed survives
        os.waitpid(pid, 0)
        os.close(fd)

    async def resume():
        app = DiffchatApp(tui_settings, LaunchOptions(resume=True))
        async with app.run_test(size=(140, 45)) as pilot:
            await wait_until(pilot, lambda: app.screen.edit_tree.current is not None, what="the resumed session")
            turns = [str(static.render()) for static in app.screen.query_one(TurnLog).children]
            return turns, app.screen.edit_tree.current

    turns, current = asyncio.run(resume())
    assert len(turns) == 2 and "make it cyberpunk at night" in turns[1]
    assert current.instruction == "make it cyberpunk at night" and current.image_path
