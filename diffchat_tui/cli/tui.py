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
    from diffchat_tui.store.sessions import SessionStore

    # Opened here, so a damaged, locked or newer database is one line before the screen is taken over.
    store = SessionStore()
    if session is not None and not store.exists(session):
        raise BadInput(f"no session {session}")
    last = store.last_session() if resume and session is None else None
    if last is not None:
        store.load(last)
    code = run_tui(settings, LaunchOptions(resume=resume, session_id=session, open_image=image), store)
    if code:
        raise typer.Exit(code)  # Textual's own exit code (1 after an error it showed), never a silent 0


def open_image(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="A picture: its metadata's prompt is used, else a caption.", dir_okay=False)],
) -> None:
    """Open the interactive session starting from a picture."""
    open_tui(ctx.obj or {}, image=image)
