"""The TUI renders with every image setting the CLI honours: both build RenderRequest.from_settings from config.toml."""

import asyncio

from PIL import Image
from textual.widgets import Input

from diffchat_tui import paths
from diffchat_tui.config import load_settings
from diffchat_tui.engines.image import RenderRequest
from diffchat_tui.tui.app import DiffchatApp
from tests.tui.conftest import wait_until

PROMPT = "a lighthouse at dusk"


def write_config(tiny_image_model) -> None:
    """Settings the tiny pipeline would not pick by itself (its own scheduler is Euler, 2 steps, 64x64, CFG 0)."""
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(
        "[llm]\nseed = 11\n\n"
        f'[image]\nmodel = "{tiny_image_model}"\ndevice = "cpu"\nsampler = "DDIM"\nsteps = 3\ncfg_scale = 1.5\n'
        'width = 64\nheight = 96\nnegative_prompt = "blurry"\nstrength = 0.3\n\n'
        '[ui]\nimage_protocol = "unicode"\n'
    )


def test_the_tui_renders_with_the_same_settings_as_the_cli(cli, tiny_models, tmp_path):
    write_config(tiny_models["image"])
    settings = load_settings()

    out = tmp_path / "cli.png"
    run = cli("render", PROMPT, "-o", str(out), "--seed", "11")
    assert run.code == 0, run.stderr
    with Image.open(out) as picture:
        from_cli = picture.info["parameters"]

    async def scenario():
        app = DiffchatApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            app.screen.query_one("#instruction", Input).value = PROMPT
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.edit_tree.current and app.screen.edit_tree.current.image_path, what="the render")
            node = app.screen.edit_tree.current
            return node.image_path, app.screen.render_request(node)

    image_path, request = asyncio.run(scenario())
    with Image.open(image_path) as picture:
        from_tui = picture.info["parameters"]
    assert "Sampler: DDIM" in from_tui and "Steps: 3" in from_tui and "Size: 64x96" in from_tui
    assert from_tui == from_cli  # same prompt, negative prompt, seed, sampler, steps, CFG, size, model
    # strength only shows in an img2img PNG; the request itself must carry it too
    assert request == RenderRequest.from_settings(settings.image, PROMPT, seed=11)
    assert (request.strength, request.sampler) == (0.3, "DDIM")
