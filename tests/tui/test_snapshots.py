"""Screens at a fixed size (140x45) with unicode pictures; update with --snapshot-update after a deliberate change."""

from textual.widgets import Input, TextArea

from diffchat_tui.tui.app import DiffchatApp
from tests.tui.conftest import wait_until

SIZE = (140, 45)


def steady_cursors(app: DiffchatApp) -> None:
    """A blinking cursor is on or off depending on when the picture is taken: keep it on."""
    for widget in app.screen.query(Input).results():
        widget.cursor_blink = False
    for area in app.screen.query(TextArea).results():
        area.cursor_blink = False


def test_empty_session(snap_compare, tui_settings):
    app = DiffchatApp(tui_settings)

    async def steady(pilot):
        steady_cursors(app)

    assert snap_compare(app, terminal_size=SIZE, run_before=steady)


def test_after_one_edit_in_prompt_only_mode(snap_compare, tui_settings):
    tui_settings.ui = tui_settings.ui.model_copy(update={"render": False})
    # An edit the model answers with a wide margin at every token of its operation (5.7 nats or more), and no
    # quality words, whose choice is a near tie: float rounding on another CPU cannot change this screen.
    tui_settings.llm = tui_settings.llm.model_copy(update={"beautify": False})
    app = DiffchatApp(tui_settings)

    async def two_turns(pilot):
        for text, kind in (("a cat on a sofa", "source"), ("make the cat black", "edit")):
            app.screen.query_one("#instruction", Input).value = text
            await pilot.press("enter")
            await wait_until(pilot, lambda kind=kind: app.screen.edit_tree.current and app.screen.edit_tree.current.kind == kind)
        steady_cursors(app)

    assert snap_compare(app, terminal_size=SIZE, run_before=two_turns)


def test_help_screen(snap_compare, tui_settings):
    assert snap_compare(DiffchatApp(tui_settings), terminal_size=SIZE, press=["f1"])
