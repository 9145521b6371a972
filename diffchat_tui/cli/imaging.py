"""The render → PNG → terminal preview path behind `edit --render` and `render`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffchat_tui.cli.options import PROTOCOLS
from diffchat_tui.core.errors import BadInput

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.config import ImageSettings
    from diffchat_tui.engines.image import RenderResult


def render_to_file(
    settings: ImageSettings,
    prompt: str,
    out: Path,
    *,
    seed: int,
    init_image: Image | None = None,
    diffchat: dict[str, Any] | None = None,
) -> RenderResult:
    """Render with a step progress bar on stderr, then save the PNG (with metadata unless turned off)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from diffchat_tui.engines.factory import make_image_engine
    from diffchat_tui.engines.image import RenderRequest, render_and_save

    request = RenderRequest.from_settings(settings, prompt, seed=seed, init_image=init_image)
    engine = make_image_engine(settings)
    console = Console(stderr=True)
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("render", total=None)
        # The pipeline loads inside render(), after render_and_save has checked the file name.
        return render_and_save(
            engine, request, out, metadata=settings.metadata, diffchat=diffchat,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip


def show_image(image: Image, protocol: str | None) -> None:
    """Draw the picture in the terminal with textual-image; only when stdout is a terminal."""
    if protocol == "off" or not sys.stdout.isatty():
        return
    if protocol not in (None, *PROTOCOLS):
        raise BadInput(f"--preview must be one of {', '.join(PROTOCOLS)}")
    from rich.console import Console

    from diffchat_tui.tui.widgets.preview import terminal_probe_tidied

    try:  # textual-image asks the terminal for its cell size on import, which fails on odd terminals
        with terminal_probe_tidied():
            from textual_image import renderable
    except (ZeroDivisionError, OSError):
        renderable = None
    if renderable is None:
        return
    chosen = {
        "kitty": renderable.TGPImage,
        "sixel": renderable.SixelImage,
        "halfcell": renderable.HalfcellImage,
        "unicode": renderable.UnicodeImage,
    }.get(protocol or "auto", renderable.Image)
    Console().print(chosen(image, width=40))
