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
    from diffchat_tui.engines.editor import EditResult
    from diffchat_tui.engines.image import ImageEngine, RenderResult


def render_to_file(
    settings: ImageSettings,
    prompt: str,
    out: Path,
    *,
    seed: int,
    init_image: Image | None = None,
    diffchat: dict[str, Any] | None = None,
    engine: ImageEngine | None = None,
) -> RenderResult:
    """Render with a step progress bar on stderr, then save the PNG (with metadata unless turned off).

    Pass engine to render several pictures with one loaded pipeline.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from diffchat_tui.engines.factory import make_image_engine
    from diffchat_tui.engines.image import RenderRequest, render_and_save

    request = RenderRequest.from_settings(settings, prompt, seed=seed, init_image=init_image)
    engine = engine or make_image_engine(settings)
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


def save_sheet(sheet: Image, out: Path, described: dict[str, Any]) -> Path:
    """A contact sheet as PNG, written atomically, with what each cell is in its `diffchat` chunk."""
    import io
    import json

    from PIL.PngImagePlugin import PngInfo

    from diffchat_tui.core.infotext import DIFFCHAT_CHUNK
    from diffchat_tui.paths import write_atomically

    info = PngInfo()
    info.add_text(DIFFCHAT_CHUNK, json.dumps(described, ensure_ascii=False))
    encoded = io.BytesIO()
    sheet.save(encoded, format="PNG", pnginfo=info)
    write_atomically(out, encoded.getvalue())
    return out


def cell_path(out: Path, *parts: object) -> Path:
    """Where one candidate's picture goes: beside the sheet, `sheet-2.png` for the second."""
    return out.with_name(f"{out.stem}-{'-'.join(map(str, parts))}{out.suffix}")


def render_sheet(
    settings: ImageSettings, results: list[EditResult], out: Path, seed: int, init_image: Image | None, own: dict[str, Any]
) -> tuple[RenderResult, list[Path]]:
    """Every candidate rendered with the same seed (one loaded pipeline), each PNG with its own metadata, and a
    contact sheet of them at out; returns the first render and the candidates' paths."""
    from diffchat_tui.engines.contact_sheet import contact_sheet
    from diffchat_tui.engines.factory import make_image_engine

    engine = make_image_engine(settings)
    renders, paths = [], []
    for index, result in enumerate(results, 1):
        path = cell_path(out, index)
        renders.append(render_to_file(settings, result.target, path, seed=seed, init_image=init_image,
                                              diffchat={**own, "candidate": index, "script": result.script}, engine=engine))  # fmt: skip
        paths.append(path)
    labels = [f"{index}. {result.script.splitlines()[0] if result.script else result.target}" for index, result in enumerate(results, 1)]
    sheet = contact_sheet([[r.image for r in renders]], [results[0].instruction], labels)
    save_sheet(sheet, out, {**own, "seed": seed, "candidates": [{"prompt": r.target, "image": str(p)} for r, p in zip(results, paths)]})
    return renders[0], paths
