"""`diffchat` with no command, and `diffchat open IMAGE`: the interactive session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def open_tui(flags: dict[str, Any], *, resume: bool = False, session: int | None = None, image: Path | None = None) -> None:
    from diffchat_tui.config import load_settings
    from diffchat_tui.core.errors import BadInput
    from diffchat_tui.tui.app import LaunchOptions, run_tui

    settings = load_settings()
    llm = {key: flags.get(key) for key in ("model", "lora", "url")}
    settings.llm = settings.llm.model_copy(update={k: v for k, v in llm.items() if v is not None})
    if flags.get("image_model"):
        settings.image = settings.image.model_copy(update={"model": flags["image_model"]})
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
