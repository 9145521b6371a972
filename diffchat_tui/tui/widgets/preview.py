"""The picture of the current version, with step progress while a render runs."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from textual.containers import Vertical
from textual.widgets import Label, ProgressBar

PROTOCOL_WIDGETS = {"kitty": "TGPImage", "sixel": "SixelImage", "halfcell": "HalfcellImage", "unicode": "UnicodeImage"}


@contextlib.contextmanager
def terminal_probe_tidied() -> Iterator[None]:
    """Around textual-image's import, which probes the terminal. Its kitty probe is an APC sequence
    (`ESC _ Gi=...;AAAA ESC \\`) that tmux without passthrough takes as the pane title: the title is put
    back. A terminal that does not answer makes it log a warning with a traceback: it falls back to a
    default cell size, which is no news to the user."""
    logging.getLogger("textual_image").setLevel(logging.ERROR)
    if not os.environ.get("TMUX"):
        yield
        return
    try:
        title = subprocess.run(["tmux", "display-message", "-p", "#{pane_title}"], capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        title = None
    try:
        yield
    finally:
        if title is not None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(["tmux", "select-pane", "-T", title.rstrip("\n")], capture_output=True, timeout=2)


def image_widget_class(protocol: str):
    """textual-image's widget for a protocol; None when pictures are off or cannot be drawn here."""
    if protocol == "off":
        return None
    try:  # it asks the terminal for its cell size on import; odd terminals make that fail
        with terminal_probe_tidied():
            from textual_image import widget
    except Exception:  # noqa: BLE001 - any failure there means: no pictures, keep working
        return None
    return getattr(widget, PROTOCOL_WIDGETS.get(protocol, "Image"))


class PreviewPane(Vertical):
    can_focus = False

    def __init__(self, protocol: str = "auto", **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_class = image_widget_class(protocol)
        self.image_path: Path | None = None

    def compose(self):
        yield Label("no picture yet", id="preview-caption")
        yield ProgressBar(id="render-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False

    def progress(self, done: int, total: int) -> None:
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=total, progress=done)
        self.query_one("#preview-caption", Label).update(f"rendering… step {done}/{total}")

    def show(self, path: Path | None, caption: str = "") -> None:
        """Show a PNG (or say there is none); the old picture goes away either way."""
        self.query_one(ProgressBar).display = False
        for old in self.query(".picture"):
            old.remove()
        self.image_path = path
        if path is None or not path.is_file():
            self.query_one("#preview-caption", Label).update(caption or "no picture for this version")
            return
        self.query_one("#preview-caption", Label).update(caption or path.name)
        if self.image_class is not None:
            self.mount(self.image_class(str(path), classes="picture"), before="#preview-caption")
