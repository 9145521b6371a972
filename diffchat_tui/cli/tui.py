"""`diffchat` with no command, and `diffchat open IMAGE`: the interactive session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from diffchat_tui.cli import options
from diffchat_tui.core.errors import BadInput


def open_tui(flags: dict[str, Any], *, resume: bool = False, session: int | None = None, image: Path | None = None) -> None:
    from diffchat_tui.config import load_settings
    from diffchat_tui.tui.app import LaunchOptions, run_tui  # imports textual

    settings = load_settings()
    settings.llm = options.llm_settings(settings.llm, model=flags.get("model"), lora=flags.get("lora"), url=flags.get("url"))
    settings.image = options.image_settings(settings.image, model=flags.get("image_model"))
    if image is not None and not image.is_file():
        raise BadInput(f"image not found: {image}")
    if session is not None:
        from diffchat_tui.store.sessions import SessionStore

        store = SessionStore()
        if not store.exists(session):
            raise BadInput(f"no session {session}")
        store.close()
    run_tui(settings, LaunchOptions(resume=resume, session_id=session, open_image=image))


def open_image(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="A picture: its metadata's prompt is used, else a caption.", dir_okay=False)],
) -> None:
    """Open the interactive session starting from a picture."""
    open_tui(ctx.obj or {}, image=image)
