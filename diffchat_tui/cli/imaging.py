"""Image options shared by `edit` and `render`, and the render → PNG → preview path behind them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from diffchat_tui.core.errors import BadInput

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.config import ImageSettings
    from diffchat_tui.engines.image import RenderResult

PANEL = "Image"
PROTOCOLS = ("auto", "kitty", "sixel", "halfcell", "unicode", "off")

ImageModel = Annotated[
    Optional[str], typer.Option("--image-model", help="Diffusers folder or hub id, or a .safetensors file.", rich_help_panel=PANEL)
]
CaptionModel = Annotated[
    Optional[str], typer.Option("--caption-model", help="Captioner for pictures without metadata.", rich_help_panel=PANEL)
]
Steps = Annotated[Optional[int], typer.Option("--steps", min=1, max=200, help="Denoising steps.", rich_help_panel=PANEL)]
Cfg = Annotated[Optional[float], typer.Option("--cfg", min=0.0, max=30.0, help="CFG scale.", rich_help_panel=PANEL)]
Size = Annotated[Optional[str], typer.Option("--size", help="WIDTHxHEIGHT, e.g. 512x512.", rich_help_panel=PANEL)]
Negative = Annotated[Optional[str], typer.Option("--negative", help="Negative prompt.", rich_help_panel=PANEL)]
Sampler = Annotated[Optional[str], typer.Option("--sampler", help="A1111 sampler name, e.g. 'Euler a'.", rich_help_panel=PANEL)]
Strength = Annotated[
    Optional[float], typer.Option("--strength", min=0.0, max=1.0, help="img2img: how far to move from the input.", rich_help_panel=PANEL)
]
NoMetadata = Annotated[bool, typer.Option("--no-metadata", help="Write no generation metadata into the PNG.", rich_help_panel=PANEL)]
Show = Annotated[bool, typer.Option("--show", help="Preview the picture in the terminal (when it is one).", rich_help_panel=PANEL)]
Preview = Annotated[
    Optional[str], typer.Option("--preview", help=f"Preview protocol: {'|'.join(PROTOCOLS)}.", rich_help_panel=PANEL)
]


def parse_size(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise BadInput(f"--size must look like 512x512, not {text!r}") from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096) or width % 8 or height % 8:
        raise BadInput("--size: each side must be a multiple of 8 between 64 and 4096")
    return width, height


def image_settings(
    base: ImageSettings, *, size: str | None = None, no_metadata: bool = False, **overrides: Any
) -> ImageSettings:
    """The configured image settings with the flags the user gave on top (unset flags keep the config)."""
    width, height = parse_size(size)
    overrides |= {"width": width, "height": height, "metadata": False if no_metadata else None}
    return base.model_copy(update={key: value for key, value in overrides.items() if value is not None})


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

    try:  # textual-image asks the terminal for its cell size on import, which fails on odd terminals
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
