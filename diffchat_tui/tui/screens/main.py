"""The session screen: turn log, current prompt, instruction input, picture and parameters.

The conversation lives here; rendering, opening pictures and pasted parameters are in main_pictures.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, TextArea

from diffchat_tui.core.errors import DiffchatError
from diffchat_tui.core.prompting import Turn
from diffchat_tui.core.seeds import next_render_seed
from diffchat_tui.core.session import EditTree, Node, NodeKind
from diffchat_tui.core.text import MAX_INSTRUCTION_CHARS, MAX_SOURCE_CHARS, clean_user_text
from diffchat_tui.store.export import export_tree
from diffchat_tui.store.live import LiveSession
from diffchat_tui.tui.screens.ask import AskScreen
from diffchat_tui.tui.screens.candidates import CandidatesScreen
from diffchat_tui.tui.screens.history import HistoryScreen
from diffchat_tui.tui.screens.main_pictures import PictureWork
from diffchat_tui.tui.screens.tree import TreeScreen
from diffchat_tui.tui.widgets.params_bar import BAR_FIELDS, ParamsBar
from diffchat_tui.tui.widgets.preview import PreviewPane
from diffchat_tui.tui.widgets.prompt_input import PromptInput
from diffchat_tui.tui.widgets.token_meter import TokenMeter
from diffchat_tui.tui.widgets.turn_log import TurnLog

SAVE_RETRY_S = 5.0
"""How often versions the store refused are tried again."""
FIRST_HINT = "Type a Stable Diffusion prompt to start (or /open PATH for a picture)"
NEXT_HINT = "Say what to change, e.g. make it cyberpunk at night   (Esc cancels · F1 help)"


class MainScreen(PictureWork, Screen[None]):
    BINDINGS = [
        Binding("ctrl+z", "undo", "Undo", id="undo"),
        Binding("ctrl+y", "redo", "Redo", id="redo"),
        Binding("ctrl+t", "tree", "Tree", id="tree"),
        Binding("ctrl+f", "search_history", "History", id="search-history"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="regenerate"),
        Binding("ctrl+s", "use_edited_prompt", "Keep edit", id="use-edited-prompt"),
        Binding("f2", "toggle_render", "Render on/off", id="toggle-render"),
        Binding("ctrl+o", "open_image", "Open image", id="open-image"),
        Binding("ctrl+e", "export", "Export", id="export"),
        Binding("ctrl+n", "new_session", "New session", id="new-session", show=False),
        Binding("escape", "cancel", "Cancel", id="cancel", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: LiveSession | None = None
        """The versions and the cursor, written through to the store; opened on mount."""
        # One cancel event per kind of work; Esc sets them all, and each run starts with a fresh one.
        self.edit_cancel = threading.Event()
        self.render_cancel = threading.Event()
        self.open_cancel = threading.Event()
        self.busy = False

    @property
    def edit_tree(self) -> EditTree:
        """The session's versions (empty until mount opens the session)."""
        return self.session.tree if self.session is not None else EditTree()

    @property
    def session_id(self) -> int:
        return self.session.id if self.session is not None else 0

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        params = {"seed": settings.llm.seed, **{key: getattr(settings.image, key) for key in BAR_FIELDS}}
        with Horizontal(id="body"):
            with Vertical(id="chat"):
                yield TurnLog(id="turns")
                with Horizontal(id="prompt-row"):
                    yield Label("current prompt — edit it by hand, ctrl+s keeps the edit", id="prompt-label")
                    yield TokenMeter(id="tokens")
                yield TextArea(id="prompt", soft_wrap=True, show_line_numbers=False)
                yield PromptInput(placeholder=FIRST_HINT, id="instruction", max_length=2000)
            with Vertical(id="side"):
                yield PreviewPane(settings.ui.image_protocol, id="preview")
                yield ParamsBar(params, settings.ui.lock_seed, id="params")
        yield Footer()

    def on_mount(self) -> None:
        store, options = self.app.store, self.app.options
        try:
            last = store.last_session() if options.resume and options.session_id is None else None
        except DiffchatError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            last = None
        if options.session_id is not None or last is not None:
            self.load_session(options.session_id if options.session_id is not None else last)
        else:
            self.session = LiveSession.new(store)
            self.report_saving()
        self.set_interval(SAVE_RETRY_S, self.retry_saving)
        self.query_one("#instruction", Input).focus()
        if options.open_image is not None:
            self.start_from_image(options.open_image)

    # --- saving: the store may refuse (disk full, locked, damaged); the versions stay in memory meanwhile ---

    def report_saving(self) -> None:
        news = self.session.saving_news() if self.session is not None else None
        if news:
            self.notify(news, severity="error" if news.startswith("not saved") else "information", timeout=15)

    def retry_saving(self) -> None:
        if self.session is not None and self.session.unsaved:
            self.session.flush()
            self.report_saving()

    # --- showing state ---

    def load_session(self, session_id: int) -> None:
        try:
            self.session = LiveSession.open(self.app.store, session_id)
        except DiffchatError as exc:
            self.notify(str(exc), severity="error")
            self.session = LiveSession.new(self.app.store)
            self.report_saving()
            return
        self.refresh_view()

    def refresh_view(self) -> None:
        self.report_saving()  # every change to the versions comes through here
        current = self.session.current
        self.query_one(TurnLog).show(self.session.tree.turn_log())
        self.query_one("#prompt", TextArea).text = current.prompt if current else ""
        parent = self.session.tree.nodes.get(current.parent_id) if current and current.parent_id is not None else None
        self.query_one(TokenMeter).show(current.prompt if current else "", parent.prompt if parent else None)
        self.query_one("#instruction", Input).placeholder = NEXT_HINT if current else FIRST_HINT
        preview = self.query_one(PreviewPane)
        if current is None:
            preview.show(None, "no picture yet")
        else:
            preview.show(Path(current.image_path) if current.image_path else None)
        if current and current.params.get("seed") is not None:
            self.query_one(ParamsBar).set_seed(int(current.params["seed"]))
        self.sub_title = f"session {self.session_id} · version {current.id if current else '-'}"

    def move_to(self, node_id: int | None) -> None:
        self.session.move_to(node_id)
        self.refresh_view()

    # --- input ---

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "instruction":
            return
        text = event.value.strip()
        if not text:
            return
        if self.busy:
            self.notify("still working — Esc cancels", severity="warning")
            return
        event.input.value = ""
        if text.startswith("/") and self.slash_command(text):
            return
        try:
            if self.session.current is None:
                cleaned = clean_user_text(text, "prompt", MAX_SOURCE_CHARS)
                self.add_source(cleaned.text)
            else:
                cleaned = clean_user_text(text, "instruction", MAX_INSTRUCTION_CHARS)
                self.run_edit(cleaned.text, self.session.tree.cursor)
        except DiffchatError as exc:
            self.notify(str(exc), severity="error")
            return
        for warning in cleaned.warnings:
            self.notify(warning, severity="warning")

    def slash_command(self, text: str) -> bool:
        command, _, argument = text.partition(" ")
        actions = {"/new": self.action_new_session, "/tree": self.action_tree, "/export": self.action_export,
                   "/help": self.app.action_help}
        if command == "/open":
            if argument.strip():
                self.start_from_image(Path(argument.strip()).expanduser())
            else:
                self.action_open_image()
            return True
        if actions.get(command):
            actions[command]()
            return True
        return False

    def add_source(self, prompt: str, kind: NodeKind = "source", parent: int | None = None, image: str | None = None) -> Node:
        node = self.session.add_source(prompt, kind, parent, image, self.render_params())
        self.refresh_view()
        if image is None:
            self.run_render(node)
        return node

    def render_params(self) -> dict:
        bar = self.query_one(ParamsBar)
        params = bar.values()
        seed, warning = next_render_seed(params["seed"], bar.seed_locked)
        if seed != params["seed"]:
            params["seed"] = seed
            bar.set_seed(seed)
        if warning:
            self.notify(warning, severity="warning")
        return params

    # --- workers: each starts on the UI thread, blocks in a thread, and hands its result back to the UI thread ---

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#instruction", Input).placeholder = "working… Esc cancels" if busy else NEXT_HINT

    def run_edit(self, instruction: str, parent_id: int | None) -> None:
        self.edit_cancel = threading.Event()
        self.set_busy(True)
        self.query_one(TurnLog).start_pending(instruction)
        source, turns = self.session.conversation(parent_id)
        negative = self.session.tree.start_negative(parent_id)
        self._edit_worker(instruction, parent_id, source, turns, negative, self.edit_cancel)

    @work(thread=True, exclusive=True, group="llm")
    def _edit_worker(
        self, instruction: str, parent_id: int | None, source: str, turns: list[Turn], negative: str, cancel: threading.Event
    ) -> None:
        call = self.app.call_from_thread
        try:
            editor = self.app.editor()
            count = self.app.settings.ui.candidates
            show = lambda piece: call(self.show_piece, piece)  # noqa: E731
            results = editor.candidates(source, instruction, count, turns, cancel, on_piece=show, negative=negative)
        except DiffchatError as exc:
            call(self.edit_failed, instruction, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a worker error must never take the app down
            call(self.edit_failed, instruction, f"{type(exc).__name__}: {exc}")
            return
        if cancel.is_set() or not results:
            call(self.edit_failed, instruction, "")
            return
        call(self.edit_done, instruction, parent_id, [r.turn for r in results], results[0].model)

    def show_piece(self, piece: str) -> None:
        self.query_one(TurnLog).stream(piece)

    def edit_failed(self, instruction: str, message: str) -> None:
        self.query_one(TurnLog).end_pending()
        self.set_busy(False)
        box = self.query_one("#instruction", Input)
        box.value = instruction  # the user's words are never lost
        box.cursor_position = len(instruction)
        if message:
            self.notify(message, severity="error", timeout=8)

    def edit_done(self, instruction: str, parent_id: int | None, answers: list[Turn], model: str) -> None:
        self.query_one(TurnLog).end_pending()
        self.set_busy(False)
        nodes = self.session.add_candidates(instruction, parent_id, answers, model)
        targets = [answer.target for answer in answers]
        if len(nodes) == 1:
            self.keep(nodes[0], nodes)
            return

        def picked(index: int | None) -> None:
            if index is None:
                self.session.pass_over(nodes)
                self.refresh_view()
                return
            self.keep(nodes[index], nodes)

        if self.app.rendering:  # same seed for all, pictures side by side (main_pictures.py)
            self.offer_with_pictures(instruction, nodes, picked)
            return
        self.app.push_screen(CandidatesScreen(instruction, targets), picked)

    def keep(self, node: Node, group: list[Node]) -> None:
        rendered = node.image_path is not None  # a candidate shown with its picture is not rendered twice
        self.session.keep(node, group, node.params if rendered else self.render_params())
        self.query_one(ParamsBar).set_negative(node.params.get("negative_prompt", ""))
        self.refresh_view()
        if not rendered:
            self.run_render(node)

    # --- actions (keys and the command palette) ---

    def action_cancel(self) -> None:
        for cancel in (self.edit_cancel, self.render_cancel, self.open_cancel):
            cancel.set()

    def action_undo(self) -> None:
        if self.session.undo() is None:
            self.notify("nothing to undo")
            return
        self.refresh_view()

    def action_redo(self) -> None:
        if self.session.redo() is None:
            self.notify("nothing to redo")
            return
        self.refresh_view()

    def action_tree(self) -> None:
        self.app.push_screen(TreeScreen(self.session.tree), lambda node_id: node_id is not None and self.move_to(node_id))

    def action_search_history(self) -> None:
        def opened(found: tuple[int, int] | None) -> None:
            if found is None or self.busy:
                return
            session_id, node_id = found
            if session_id != self.session_id:
                self.load_session(session_id)
            self.move_to(node_id)

        self.app.push_screen(HistoryScreen(self.app.store), opened)

    def action_regenerate(self) -> None:
        current = self.session.current
        if current is None or current.kind != "edit" or self.busy:
            self.notify("regenerate needs a version made by an instruction")
            return
        self.run_edit(current.instruction, current.parent_id)

    def action_use_edited_prompt(self) -> None:
        text = self.query_one("#prompt", TextArea).text
        current = self.session.current
        try:
            prompt = clean_user_text(text, "prompt", MAX_SOURCE_CHARS, multiline=True).text
        except DiffchatError as exc:
            self.notify(str(exc), severity="error")
            return
        if current is not None and prompt == current.prompt:
            self.notify("the prompt is unchanged")
            return
        self.add_source(prompt, "manual" if current else "source", current.id if current else None)

    def action_new_session(self) -> None:
        self.session = LiveSession.new(self.app.store)
        self.refresh_view()
        self.notify(f"new session {self.session_id}")

    def action_export(self) -> None:
        try:  # from memory: versions the store could not save are exported too
            markdown, data = export_tree(self.session.tree, self.session_id, self.app.store.folder / "exports")
        except OSError as exc:
            self.notify(f"cannot export: {exc.strerror or exc}", severity="error", timeout=10)
            return
        self.notify(f"exported to {markdown} and {data.name}", timeout=8)

    def action_copy_prompt(self) -> None:
        if self.session.current is not None:
            self.app.copy_to_clipboard(self.session.current.prompt)
            self.notify("prompt copied")

    def action_switch_model(self) -> None:
        def switch(spec: str | None) -> None:
            if spec:
                self.app.switch_model(spec)
                self.notify(f"next turns use {spec}")

        self.app.push_screen(AskScreen("Which LLM?", self.app.settings.llm.model, "embedded, a .gguf path, OWNER/REPO/FILE.gguf"), switch)
