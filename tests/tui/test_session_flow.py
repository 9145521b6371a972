"""The interactive session, driven by Textual's pilot, on the real embedded LLM and the tiny pipeline."""

import asyncio
import time

from PIL import Image
from textual.widgets import Input, TextArea

from diffchat_tui.core.errors import GenerationError
from diffchat_tui.core.tool_metadata import read_info
from diffchat_tui.engines.factory import make_llm_engine
from diffchat_tui.store.sessions import SessionStore
from diffchat_tui.tui.app import DiffchatApp
from diffchat_tui.tui.widgets.turn_log import TurnLog
from tests.tui.conftest import wait_until


def log_text(app) -> str:
    return "\n".join(str(static.render()) for static in app.screen.query_one(TurnLog).children)


def current(app):
    return app.screen.edit_tree.current


async def type_and_enter(pilot, text: str) -> None:
    pilot.app.screen.query_one("#instruction", Input).value = text
    await pilot.press("enter")


async def first_two_turns(pilot) -> None:
    app = pilot.app
    await type_and_enter(pilot, "a cat on a sofa")
    await wait_until(pilot, lambda: current(app) and current(app).image_path, what="the source render")
    await type_and_enter(pilot, "make it cyberpunk at night")
    await wait_until(pilot, lambda: current(app).kind == "edit" and current(app).image_path, what="the edit and its render")


def test_source_then_instruction_then_undo_redo_and_branch(tui_settings):
    async def scenario():
        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await first_two_turns(pilot)
            edit = current(app)
            assert edit.instruction == "make it cyberpunk at night" and edit.prompt != "a cat on a sofa"
            assert app.screen.query_one("#prompt", TextArea).text == edit.prompt
            assert "make it cyberpunk at night" in log_text(app)
            with Image.open(edit.image_path) as picture:
                info = read_info(dict(picture.info))
            assert info.prompt == edit.prompt and info.diffchat["source_prompt"] == "a cat on a sofa"

            await pilot.press("ctrl+z")
            assert current(app).prompt == "a cat on a sofa"
            await pilot.press("ctrl+y")
            assert current(app).id == edit.id
            await pilot.press("ctrl+z")
            await type_and_enter(pilot, "add a red umbrella")
            await wait_until(pilot, lambda: current(app).instruction == "add a red umbrella", what="the branch")
            root = app.screen.edit_tree.roots()[0]
            assert len(app.screen.edit_tree.children(root.id)) == 2  # a branch, nothing deleted
            return app.screen.session_id

    session = asyncio.run(scenario())
    tree = SessionStore().load(session)
    assert len(tree.nodes) == 3 and tree.current.instruction == "add a red umbrella"


class SlowEngine:
    """Fault injection: the real model, but every token takes 50 ms, so Esc lands mid-generation."""

    def __init__(self, engine):
        self.engine = engine
        self.name = engine.name
        self.declared_format = engine.declared_format

    def load(self):
        return self.engine.load()

    def prime(self, prefix):
        self.engine.prime(prefix)

    def stream(self, messages, **options):
        for piece in self.engine.stream(messages, **options):
            time.sleep(0.05)
            yield piece


class FailingEngine(SlowEngine):
    def stream(self, messages, **options):
        raise GenerationError("the model fell over")
        yield


def test_escape_cancels_and_puts_the_words_back(tui_settings):
    async def scenario():
        app = DiffchatApp(tui_settings, llm=SlowEngine(make_llm_engine(tui_settings.llm)))
        async with app.run_test(size=(140, 45)) as pilot:
            await type_and_enter(pilot, "a cat on a sofa")
            await wait_until(pilot, lambda: current(app) is not None, what="the source")
            await type_and_enter(pilot, "make it a watercolor")
            await wait_until(pilot, lambda: app.screen.busy, what="generation to start")
            await pilot.press("escape")
            await wait_until(pilot, lambda: not app.screen.busy, what="the cancel")
            assert app.screen.query_one("#instruction", Input).value == "make it a watercolor"
            assert current(app).kind == "source" and len(app.screen.edit_tree.nodes) == 1

    asyncio.run(scenario())


def test_errors_show_in_the_app_and_never_crash_it(tui_settings):
    async def scenario():
        app = DiffchatApp(tui_settings, llm=FailingEngine(make_llm_engine(tui_settings.llm)))
        async with app.run_test(size=(140, 45)) as pilot:
            await type_and_enter(pilot, "a cat")
            await wait_until(pilot, lambda: current(app) is not None, what="the source")
            await type_and_enter(pilot, "add a hat")
            await wait_until(pilot, lambda: not app.screen.busy and app._notifications, what="the error")
            assert any("the model fell over" in str(n.message) for n in app._notifications)
            assert app.screen.query_one("#instruction", Input).value == "add a hat"
            assert app.is_running

    asyncio.run(scenario())


def test_no_image_model_means_prompt_only_mode(tui_settings):
    tui_settings.image = tui_settings.image.model_copy(update={"model": "someone/not-downloaded"})

    async def scenario():
        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await type_and_enter(pilot, "a cat on a sofa")
            await wait_until(pilot, lambda: not app.rendering, what="prompt-only mode")
            await type_and_enter(pilot, "make it night")
            await wait_until(pilot, lambda: current(app) and current(app).kind == "edit", what="an edit without pictures")
            assert current(app).image_path is None

    asyncio.run(scenario())


def test_candidates_record_the_kept_one_and_the_rest(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"candidates": 2, "render": False})

    async def scenario():
        from diffchat_tui.tui.screens.candidates import CandidatesScreen

        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await type_and_enter(pilot, "a lighthouse on a cliff")
            await wait_until(pilot, lambda: current(app) is not None, what="the source")
            await type_and_enter(pilot, "make it stormy")
            await wait_until(pilot, lambda: isinstance(app.screen, CandidatesScreen), what="the candidates")
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: current(app).kind == "edit", what="the kept candidate")
            return app.screen.session_id, current(app).prompt

    session, kept = asyncio.run(scenario())
    pairs = SessionStore().preference_pairs(session)
    assert len(pairs) == 1 and pairs[0]["chosen"] == kept and pairs[0]["instruction"] == "make it stormy"


class MarkupEngine(SlowEngine):
    """Fault injection: model output that tries markup and terminal escapes."""

    def stream(self, messages, **options):
        yield from ["[bold red]a cat[/] ", "\x1b]0;owned\x07", "on a sofa"]


def test_model_output_is_shown_as_text(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"render": False})

    async def scenario():
        app = DiffchatApp(tui_settings, llm=MarkupEngine(make_llm_engine(tui_settings.llm)))
        async with app.run_test(size=(140, 45)) as pilot:
            await type_and_enter(pilot, "a dog")
            await wait_until(pilot, lambda: current(app) is not None, what="the source")
            await type_and_enter(pilot, "make it a cat")
            await wait_until(pilot, lambda: current(app).kind == "edit", what="the edit")
            assert current(app).prompt == "[bold red]a cat[/] on a sofa"
            assert "[bold red]a cat[/]" in log_text(app) and "\x1b" not in log_text(app)

    asyncio.run(scenario())


def test_keymap_from_config_and_help(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"keys": {"undo": "f5"}, "render": False})

    async def scenario():
        from diffchat_tui.tui.screens.help import HelpScreen

        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await type_and_enter(pilot, "a cat")
            await wait_until(pilot, lambda: current(app) is not None, what="the source")
            await type_and_enter(pilot, "add a hat")
            await wait_until(pilot, lambda: current(app).kind == "edit", what="the edit")
            await pilot.press("f5")
            assert current(app).kind == "source"
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)

    asyncio.run(scenario())

