"""Issue-14 features in the TUI, through the pilot: pasted parameters, the token meter, history search,
candidates with their pictures side by side, and an edit that changes the negative prompt."""

import asyncio

from textual import events
from textual.widgets import Input

from diffchat_tui.core.prompting import Turn
from diffchat_tui.store.history import log_edit
from diffchat_tui.store.sessions import SessionStore
from diffchat_tui.tui.app import DiffchatApp
from diffchat_tui.tui.screens.candidates import CandidatesScreen
from diffchat_tui.tui.screens.history import HistoryScreen
from diffchat_tui.tui.widgets.params_bar import ParamsBar
from diffchat_tui.tui.widgets.token_meter import TokenMeter
from tests.tui.conftest import wait_until

PASTED = (
    "a red fox in the snow, (detailed fur:1.2)\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 3, Sampler: Euler a, Schedule type: Automatic, CFG scale: 1.5, Seed: 4242, Size: 64x64, Model: tiny"
)


def current(app):
    return app.screen.edit_tree.current


def test_a_pasted_parameters_block_fills_prompt_negative_and_parameters(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"render": False})

    async def scenario():
        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            app.screen.query_one("#instruction", Input).post_message(events.Paste(PASTED))
            await wait_until(pilot, lambda: current(app) is not None, what="the pasted prompt")
            bar = app.screen.query_one(ParamsBar).values()
            meter = str(app.screen.query_one(TokenMeter).render())
            return current(app).prompt, bar, meter

    prompt, bar, meter = asyncio.run(scenario())
    assert prompt == "a red fox in the snow, (detailed fur:1.2)"
    assert bar["negative_prompt"] == "blurry, lowres" and bar["sampler"] == "Euler a"
    assert (bar["seed"], bar["steps"], bar["cfg_scale"], bar["width"], bar["height"]) == (4242, 3, 1.5, 64, 64)
    assert meter.endswith("· chunk 1") and meter.split("/")[0].isdigit()


def test_history_search_opens_a_logged_edit_at_its_version(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"render": False})
    store = SessionStore()
    logged = log_edit(store, "a lighthouse on a cliff", [Turn("make it stormy", "a lighthouse on a cliff, storm", "+ storm")], "m")
    store.close()

    async def scenario():
        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await pilot.press("ctrl+f")
            await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history search")
            app.screen.query_one("#history-query", Input).value = "stormy"
            await wait_until(pilot, lambda: bool(app.screen.hits), what="a hit")
            await pilot.press("enter")
            await wait_until(pilot, lambda: current(app) is not None and current(app).kind == "edit", what="the opened version")
            return app.screen.session_id, current(app).prompt

    session, prompt = asyncio.run(scenario())
    assert session == logged and prompt == "a lighthouse on a cliff, storm"


def test_candidates_are_offered_with_their_pictures_rendered_with_one_seed(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"candidates": 2})

    async def scenario():
        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(160, 50)) as pilot:
            app.screen.query_one("#instruction", Input).value = "a lighthouse on a cliff"
            await pilot.press("enter")
            await wait_until(pilot, lambda: current(app) and current(app).image_path, what="the source render")
            app.screen.query_one("#instruction", Input).value = "make it stormy"
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, CandidatesScreen), what="the candidates")
            pictures = list(app.screen.pictures)
            await pilot.press("enter")
            await wait_until(pilot, lambda: current(app).kind == "edit", what="the kept candidate")
            return pictures, current(app)

    pictures, kept = asyncio.run(scenario())
    assert len(pictures) == 2 and all(p is not None and p.is_file() for p in pictures)
    assert kept.image_path == str(pictures[0])  # the kept one is not rendered again


def test_a_negative_prompt_request_updates_the_parameter_bar(tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"render": False})

    async def scenario():
        app = DiffchatApp(tui_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            app.screen.query_one("#instruction", Input).value = "a cat on a sofa"
            await pilot.press("enter")
            await wait_until(pilot, lambda: current(app) is not None, what="the source")
            app.screen.query_one("#instruction", Input).value = "no text or watermarks"
            await pilot.press("enter")
            await wait_until(pilot, lambda: current(app).kind == "edit", what="the edit")
            return current(app), app.screen.query_one(ParamsBar).values()["negative_prompt"]

    node, negative = asyncio.run(scenario())
    assert node.script.startswith("!+") and "watermark" in negative and node.params["negative_prompt"] == negative
