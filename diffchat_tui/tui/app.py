"""The Textual app: settings, the session store and the warm engines, shared by its screens."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from diffchat_tui.config import Settings
from diffchat_tui.core.errors import BadInput, StoreError
from diffchat_tui.engines.editor import Editor, GenerationOptions
from diffchat_tui.engines.factory import make_image_engine, make_llm_engine
from diffchat_tui.engines.image import ImageEngine
from diffchat_tui.engines.llm import LLMEngine
from diffchat_tui.store.export import export_tree
from diffchat_tui.store.live import LiveSession
from diffchat_tui.store.sessions import SessionStore
from diffchat_tui.tui.screens.help import HelpScreen
from diffchat_tui.tui.screens.main import MainScreen
from diffchat_tui.tui.widgets.preview import image_widget_class


@dataclass
class LaunchOptions:
    """What the command line asked for."""

    resume: bool = False
    session_id: int | None = None
    open_image: Path | None = None


class DiffchatApp(App[None]):
    TITLE = "diffchat"
    CSS_PATH = "app.tcss"
    # Every binding has an id, so `[ui.keys]` in config.toml can remap it; the session's own are on MainScreen.
    BINDINGS = [
        Binding("f1", "help", "Help", id="help"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        options: LaunchOptions | None = None,
        store: SessionStore | None = None,
        llm: LLMEngine | None = None,
    ):
        """llm: an engine to use instead of the one settings.llm describes (tests inject faults this way)."""
        super().__init__()
        self.settings = settings
        self.options = options or LaunchOptions()
        self.store = store or SessionStore()
        self.rendering = settings.ui.render
        self._llm = llm
        self._editor: Editor | None = None
        self._image_engine: ImageEngine | None = None
        self.main_screen: MainScreen | None = None

    def on_mount(self) -> None:
        if self.settings.ui.keys:
            self.set_keymap(self.settings.ui.keys)
        self.main_screen = MainScreen()
        self.push_screen(self.main_screen)

    # --- engines, loaded lazily inside workers (never on the UI thread) ---

    def editor(self) -> Editor:
        if self._editor is None:
            llm = self.settings.llm
            engine = self._llm or make_llm_engine(llm, notice=lambda message: self.notify(message, timeout=15))
            # notify is thread-safe, and warnings come from worker threads.
            editor = Editor(engine, GenerationOptions.from_settings(llm), warn=lambda message: self.notify(message, severity="warning"))
            editor.load()
            self._editor = editor
        return self._editor

    def image_engine(self) -> ImageEngine:
        if self._image_engine is None:
            engine = make_image_engine(self.settings.image)
            engine.load()
            self._image_engine = engine
        return self._image_engine

    def switch_model(self, spec: str) -> None:
        """Use another LLM from the next turn on (it loads in the next worker)."""
        self.settings.llm = self.settings.llm.model_copy(update={"model": spec, "url": None})
        self._llm = self._editor = None

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        main = screen
        yield SystemCommand("New session", "Start an empty session (the old one stays saved)", main.action_new_session)
        yield SystemCommand("Open image", "Start from a picture: its metadata's prompt, else a caption", main.action_open_image)
        yield SystemCommand("Export session", "Write the session as Markdown and JSON", main.action_export)
        yield SystemCommand("Regenerate", "Ask again for the current version's instruction", main.action_regenerate)
        yield SystemCommand("Toggle rendering", "Render each version, or prompts only", main.action_toggle_render)
        yield SystemCommand("Copy prompt", "Copy the current prompt to the clipboard", main.action_copy_prompt)
        yield SystemCommand("Switch model", "Use another LLM (embedded, a .gguf path, a hub reference)", main.action_switch_model)
        yield SystemCommand("Open image externally", "Open the current picture in the system viewer", main.action_open_externally)
        yield SystemCommand("Edit tree", "Jump to any version", main.action_tree)
        yield SystemCommand("Search history", "Find a prompt or instruction in every session and logged edit", main.action_search_history)


MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}


def _is_key(key: str) -> bool:
    """Whether textual can ever send this key: modifiers, then one key name or printable character."""
    from textual.keys import KEY_NAME_REPLACEMENTS, Keys, key_to_character

    *modifiers, name = key.split("+") if key != "+" else ["+"]
    names = {value.value.split("+")[-1] for value in Keys} | set(KEY_NAME_REPLACEMENTS.values())
    known = name in names or (len(name) == 1 and name.isprintable()) or key_to_character(name) is not None
    return bool(name) and known and all(modifier in MODIFIERS for modifier in modifiers)


def check_keymap(keys: dict[str, str]) -> None:
    """Refuse `[ui.keys]` entries that would be ignored silently: an unknown id, or a key that does not exist."""
    bindings = [*DiffchatApp.BINDINGS, *MainScreen.BINDINGS, *HelpScreen.BINDINGS]
    known = sorted({binding.id for binding in bindings if isinstance(binding, Binding) and binding.id})
    for binding_id, spec in keys.items():
        if binding_id not in known:
            raise BadInput(f"[ui.keys]: no key has the id {binding_id!r}; the ids are {', '.join(known)}")
        for key in spec.split(","):
            if not _is_key(key.strip()):
                raise BadInput(f"[ui.keys] {binding_id} = {spec!r}: {key.strip()!r} is not a key (e.g. ctrl+u, f5, shift+tab)")


def run_tui(settings: Settings, options: LaunchOptions, store: SessionStore | None = None) -> int:
    """Open the app; returns its exit code. textual-image must be imported before App.run() so it can ask
    the terminal. Versions the store could not save by the end are exported, and StoreError says where."""
    check_keymap(settings.ui.keys)
    if settings.ui.image_protocol != "off":
        image_widget_class(settings.ui.image_protocol)
    app = DiffchatApp(settings, options, store)
    app.run()
    session = app.main_screen.session if app.main_screen is not None else None
    if session is not None and session.unsaved and not session.flush():
        raise StoreError(f"{session.unsaved} change(s) could not be saved ({session.save_error}); {rescue(session, app.store)}")
    return app.return_code or 0


def rescue(session: LiveSession, store: SessionStore) -> str:
    """Put an unsaved session somewhere: the exports folder, else the temp dir, else stderr."""
    for folder in (store.folder / "exports", Path(tempfile.gettempdir()) / "diffchat-rescue"):
        try:
            markdown, data = export_tree(session.tree, session.id, folder)
        except OSError:
            continue
        return f"the whole session is in {data} and {markdown.name}"
    versions = [node.__dict__ for node in session.tree.nodes.values()]
    print(json.dumps({"session": session.id, "nodes": versions}, ensure_ascii=False), file=sys.stderr)
    return "no folder could be written, so the session is printed above as JSON"
