"""Item 2 end to end: a real `diffchat` in a pseudo-terminal on a real filesystem that fills up. The version
typed after the disk is full is kept, rescued on quit, and the exit code says something went wrong."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from diffchat_tui.core.text import strip_escapes
from tests.reliability.conftest import fill, tmpfs


def test_quitting_with_unsaved_versions_rescues_them_and_exits_2(tmp_path, monkeypatch):
    with tmpfs(tmp_path / "home", size="2m") as home:
        monkeypatch.setenv("DIFFCHAT_HOME", str(home))
        monkeypatch.setenv("DIFFCHAT_UI__RENDER", "false")
        monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
        (tmp_path / "tmp").mkdir()
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.executable, [sys.executable, "-m", "diffchat_tui"])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        output = bytearray()

        def shown() -> str:
            return strip_escapes(output.decode(errors="replace"))  # the words, without the cursor moves between them

        def drain_until(needle: str, timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while needle not in shown() and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.2)[0]:
                    try:
                        output.extend(os.read(fd, 65536))
                    except OSError:  # the child is gone
                        break
            return needle in shown()

        def wait_exit(timeout: float) -> int:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return os.waitstatus_to_exitcode(status)
                drain_until("\0never", 0.2)
            os.kill(pid, signal.SIGKILL)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

        code = None
        try:
            assert drain_until("Type a Stable Diffusion prompt", 120), shown()[-2000:]
            fill(home)
            os.write(fd, b"a cat on a sofa\r")
            assert drain_until("not saved", 30), shown()[-2000:]
            os.write(fd, b"\x11")  # ctrl+q
            code = wait_exit(30)
        finally:
            if code is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        text = shown()
        assert code == 2, text[-2000:]
        assert "could not be saved" in text and "Traceback" not in text
        rescued = list((tmp_path / "tmp" / "diffchat-rescue").glob("session-*.json"))  # the full disk held no export
        assert rescued and "a cat on a sofa" in rescued[0].read_text()


def test_the_kitty_probe_leaves_the_tmux_pane_title_alone(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("no tmux here")
    socket = f"diffchat-test-{os.getpid()}"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10).stdout.strip()

    done = tmp_path / "done"
    probe = f"from diffchat_tui.tui.widgets.preview import image_widget_class; image_widget_class('auto'); open({str(done)!r}, 'w')"
    tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "sleep 60")
    try:
        tmux("select-pane", "-t", "t", "-T", "my title")
        command = f"cd {os.getcwd()} && {sys.executable} -c \"{probe}\"; sleep 30"
        tmux("respawn-pane", "-k", "-t", "t", command)
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        assert done.exists() and tmux("display-message", "-p", "-t", "t", "#{pane_title}") == "my title"
    finally:
        tmux("kill-server")
