"""The main screen's pictures: rendering each version, opening a picture, and parameters pasted or read from one.

A mixin of MainScreen (it uses the screen's session, widgets and app), kept apart so each file reads on
its own: main.py is the conversation, this is the pictures. Workers start on the UI thread, block in a
thread, and hand their result back to the UI thread, which does every store write and widget update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from diffchat_tui.core.errors import DiffchatError
from diffchat_tui.core.infotext import GenerationInfo, parse_parameters
from diffchat_tui.core.session import Node
from diffchat_tui.core.text import MAX_SOURCE_CHARS, clean_user_text
from diffchat_tui.engines.caption import Captioner, ImagePrompt, prompt_from_image
from diffchat_tui.engines.image import SAMPLERS, RenderCancelled, RenderRequest, RenderResult, render_and_save
from diffchat_tui.tui.screens.ask import AskScreen
from diffchat_tui.tui.screens.candidates import CandidatesScreen
from diffchat_tui.tui.widgets.params_bar import BAR_FIELDS, ParamsBar
from diffchat_tui.tui.widgets.preview import PreviewPane
from diffchat_tui.tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from diffchat_tui.tui.screens.main import MainScreen

    _Base = MainScreen
else:
    _Base = object


class PictureWork(_Base):
    def on_prompt_input_parameters_pasted(self, event: PromptInput.ParametersPasted) -> None:
        """A pasted A1111 parameters block: its prompt starts a version, its parameters fill the bar."""
        if self.busy:
            self.notify("still working — Esc cancels", severity="warning")
            return
        info = parse_parameters(event.text)
        try:
            cleaned = clean_user_text(info.prompt, "prompt", MAX_SOURCE_CHARS, multiline=True)
        except DiffchatError as exc:
            self.notify(str(exc), severity="error")
            return
        self.fill_parameters(info)
        self.add_source(cleaned.text)
        self.notify("prompt and parameters from the pasted text")

    def fill_parameters(self, info: GenerationInfo) -> None:
        params, warnings = info.render_settings(SAMPLERS)
        self.query_one(ParamsBar).fill(params)
        for warning in warnings:
            self.notify(warning, severity="warning")

    def render_request(self, node: Node) -> RenderRequest:
        """The configured image settings (sampler, strength, ...) with this version's parameter-bar values on top."""
        overrides = {key: node.params[key] for key in BAR_FIELDS if key in node.params}
        return RenderRequest.from_settings(self.app.settings.image, node.prompt, seed=int(node.params.get("seed", 0)), **overrides)

    def run_render(self, node: Node) -> None:
        if not self.app.rendering:
            return
        self.render_cancel = threading.Event()
        own = self.session.png_metadata(node, self.app.settings.image.model)
        try:
            path = self.session.image_path(node)
        except OSError as exc:  # the images folder cannot be made (a full or read-only disk)
            self.notify(f"cannot render: {exc.strerror or exc}", severity="error")
            return
        self._render_worker(node, dict(node.params), self.render_request(node), path, own, self.render_cancel)

    @work(thread=True, exclusive=True, group="render")
    def _render_worker(self, node: Node, params: dict, request: RenderRequest, path: Path, own: dict, cancel: threading.Event) -> None:
        call = self.app.call_from_thread
        try:
            engine = self.app.image_engine()
            result = render_and_save(
                engine, request, path, metadata=self.app.settings.image.metadata, diffchat=own,
                progress=lambda done, total: call(self.render_progress, done, total), cancel=cancel,
            )  # fmt: skip
        except RenderCancelled:
            call(self.render_stopped, "render cancelled")
            return
        except DiffchatError as exc:
            call(self.render_unavailable, str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            call(self.notify, f"render failed: {type(exc).__name__}: {exc}", severity="error")
            return
        call(self.render_done, node, params, path, result)

    def render_progress(self, done: int, total: int) -> None:
        self.query_one(PreviewPane).progress(done, total)

    def render_stopped(self, caption: str) -> None:
        self.query_one(PreviewPane).show(None, caption)

    def render_unavailable(self, message: str) -> None:
        self.app.rendering = False  # prompt-only mode until the user turns it back on
        self.notify(f"{message} — prompt-only mode (F2 retries)", severity="warning", timeout=10)
        self.render_stopped("prompt-only mode")

    def render_done(self, node: Node, params: dict, path: Path, result: RenderResult) -> None:
        self.session.set_image(node, path, params, result.request)
        self.report_saving()
        if self.session.tree.cursor == node.id:
            caption = f"{path.name} · seed {params.get('seed')} · {result.request.width}x{result.request.height}"
            self.query_one(PreviewPane).show(path, caption)

    def start_from_image(self, path: Path) -> None:
        self.open_cancel = threading.Event()
        self._open_worker(path, self.open_cancel)

    @work(thread=True, exclusive=True, group="open")
    def _open_worker(self, path: Path, cancel: threading.Event) -> None:
        call = self.app.call_from_thread
        try:  # a caption cannot stop half-way: Esc drops its result instead
            found = prompt_from_image(path, Captioner(self.app.settings.image.caption_model))
        except DiffchatError as exc:
            call(self.notify, str(exc), severity="error")
            return
        except Exception as exc:  # noqa: BLE001
            call(self.notify, f"cannot open {path.name}: {type(exc).__name__}: {exc}", severity="error")
            return
        call(self.open_done, path, found, cancel)

    def open_done(self, path: Path, found: ImagePrompt, cancel: threading.Event) -> None:
        if cancel.is_set():
            self.notify("opening the picture was cancelled")
            return
        if found.info is not None:  # every parameter the picture names, as A1111's "read generation parameters"
            self.fill_parameters(found.info)
        if found.seed is not None:
            self.query_one(ParamsBar).set_seed(found.seed)
        if found.negative_prompt:
            self.query_one(ParamsBar).set_negative(found.negative_prompt)
        self.add_source(found.prompt, "source", None, str(path.resolve()))
        self.notify(f"prompt from {found.how}")
        for warning in found.warnings:
            self.notify(warning, severity="warning")

    def action_toggle_render(self) -> None:
        self.app.rendering = not self.app.rendering
        self.notify("rendering on" if self.app.rendering else "prompt-only mode")
        current = self.session.current
        if self.app.rendering and current is not None and not current.image_path:
            self.run_render(current)

    def action_open_image(self) -> None:
        self.app.push_screen(AskScreen("Open which picture?", placeholder="path/to/image.png"),
                             lambda answer: answer and self.start_from_image(Path(answer).expanduser()))

    def action_open_externally(self) -> None:
        current = self.session.current
        if current is None or not current.image_path:
            self.notify("no picture for this version")
            return
        import click

        click.launch(current.image_path)

    def offer_with_pictures(self, instruction: str, nodes: list[Node], picked: Callable[[int | None], None]) -> None:
        """Render every candidate with the same seed, then let the user pick with the pictures side by side."""
        params = self.render_params()
        try:
            jobs = [(node, self.render_request(replace(node, params={**params, **node.params})), self.session.image_path(node)) for node in nodes]
        except OSError as exc:
            self.notify(f"cannot render: {exc.strerror or exc}", severity="error")
            self.app.push_screen(CandidatesScreen(instruction, [n.prompt for n in nodes]), picked)
            return
        self.render_cancel = threading.Event()
        self._candidates_worker(instruction, jobs, params, picked, self.render_cancel)

    @work(thread=True, exclusive=True, group="render")
    def _candidates_worker(self, instruction: str, jobs: list, params: dict, picked, cancel: threading.Event) -> None:
        call = self.app.call_from_thread
        done = []
        try:
            engine = self.app.image_engine()
            for index, (node, request, path) in enumerate(jobs, 1):
                own = {"candidate": index, "script": node.script, "image_model": self.app.settings.image.model}
                result = render_and_save(engine, request, path, metadata=self.app.settings.image.metadata, diffchat=own,
                                         progress=lambda step, total: call(self.render_progress, step, total), cancel=cancel)  # fmt: skip
                done.append((node, path, result))
        except RenderCancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - no pictures is no reason to lose the candidates
            call(self.notify, f"render failed: {type(exc).__name__}: {exc}", severity="error")
        call(self.candidates_rendered, instruction, [node for node, _, _ in jobs], done, params, picked)

    def candidates_rendered(self, instruction: str, nodes: list[Node], done: list, params: dict, picked) -> None:
        for node, path, result in done:
            self.session.set_image(node, path, {**params, **node.params}, result.request)
        self.render_stopped("pick a candidate")
        pictures = [Path(node.image_path) if node.image_path else None for node in nodes]
        screen = CandidatesScreen(instruction, [node.prompt for node in nodes], pictures, self.app.settings.ui.image_protocol)
        self.app.push_screen(screen, picked)
