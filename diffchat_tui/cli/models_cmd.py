"""`diffchat models`: what each model spec resolves to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from diffchat_tui.core.errors import BadInput, DiffchatError
from diffchat_tui.engines import models


def list_models() -> None:
    """Show each usable model spec, what it resolves to, and the file behind it."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from diffchat_tui.config import load_settings

    settings = load_settings().llm
    table = Table("spec", "kind", "file", "size", "LoRA adapter", "note")
    specs = [models.EMBEDDED, models.BASE] + ([settings.model] if settings.model not in (models.EMBEDDED, models.BASE) else [])
    rows = [(spec, "configured default" if spec == settings.model else "") for spec in specs]
    rows += [(spec, "in the hub cache") for spec, _ in models.cached_hub_ggufs()]
    for spec, note in rows:
        try:
            resolved = models.resolve_llm(spec, settings.lora if spec == settings.model else None)
        except DiffchatError as exc:
            table.add_row(Text(spec), "-", "-", "-", "-", Text(str(exc), style="red"))
            continue
        size = f"{resolved.path.stat().st_size / 1e6:.0f} MB"
        adapter = str(resolved.lora) if resolved.lora else "-"
        table.add_row(Text(spec), resolved.kind, Text(str(resolved.path)), size, Text(adapter), note)
    if settings.url:
        table.add_row(Text(settings.url), "http", "-", "-", "-", "configured server (llm.url)")
    Console(highlight=False).print(table)


def make_tiny(
    folder: Annotated[Path, typer.Argument(help="Where to write them (created).", file_okay=False)],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random weights.")] = 0,
) -> None:
    """Write tiny random-weight models: an SD pipeline at FOLDER, a captioner and a CLIP beside it.

    Use them to try diffchat with no model hub: --image-model FOLDER --caption-model FOLDER/captioner.
    The pictures are noise; every code path is real.
    """
    from diffchat_tui.engines.tiny import build_tiny_models

    if folder.exists() and any(folder.iterdir()):
        raise BadInput(f"{folder} is not empty")
    for what, where in build_tiny_models(folder, seed).items():
        print(f"{what:<10} {where}")
