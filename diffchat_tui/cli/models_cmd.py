"""`diffchat models`: what each model spec resolves to."""

from __future__ import annotations

import typer

app = typer.Typer(help="List the language models diffchat can use and where their files live.")


@app.command("list")
def list_models() -> None:
    """Show each usable model spec, what it resolves to, and the file behind it."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from diffchat_tui.config import load_settings
    from diffchat_tui.core.errors import DiffchatError
    from diffchat_tui.engines import models

    settings = load_settings().llm
    table = Table("spec", "kind", "file", "size", "LoRA adapter", "note")
    specs = [models.EMBEDDED] + ([settings.model] if settings.model != models.EMBEDDED else [])
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
