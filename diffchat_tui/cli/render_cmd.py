"""`diffchat render` (prompt → PNG) and `diffchat info` (what a picture says about itself)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from diffchat_tui.cli import imaging, options
from diffchat_tui.cli.output import warn
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.seeds import concrete_seed
from diffchat_tui.core.text import MAX_SOURCE_CHARS, clean_user_text, shorten, strip_escapes

MAX_SHOWN_CHARS = 2000
"""`info` shows at most this much of one field; --json gives all of it."""


def render(
    prompt: Annotated[str, typer.Argument(help="The prompt to render.", show_default=False)],
    out: Annotated[Path, typer.Option("-o", "--out", help="The PNG to write.", dir_okay=False)],
    image: Annotated[
        Optional[Path], typer.Option("--image", help="img2img: start from this picture.", dir_okay=False)
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", **options.SEED_RANGE, help="Render seed (a CPU generator: same picture everywhere); -1 picks one.")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was rendered as JSON.")] = False,
    image_model: options.ImageModel = None,
    steps: options.Steps = None,
    cfg: options.Cfg = None,
    size: options.Size = None,
    negative: options.Negative = None,
    sampler: options.Sampler = None,
    strength: options.Strength = None,
    no_metadata: options.NoMetadata = False,
    show: options.Show = False,
    preview: options.Preview = None,
) -> None:
    """Render a prompt to a PNG that carries A1111-compatible generation metadata."""
    from diffchat_tui.config import load_settings
    from diffchat_tui.engines.image_files import check_writable, file_sha256, open_image

    settings = load_settings()
    image_settings = options.image_settings(
        settings.image, size=size, no_metadata=no_metadata, model=image_model, steps=steps, cfg_scale=cfg,
        negative_prompt=negative, sampler=sampler, strength=strength,
    )
    text = _cleaned(prompt, "prompt")
    if negative is not None:
        image_settings.negative_prompt = _cleaned(negative, "--negative") if negative.strip() else ""
    check_writable(out)  # before the pipeline loads
    init_image = open_image(image)[0] if image else None
    own = {"parent_sha256": file_sha256(image) if image else None, "image_model": image_settings.model}
    seed = concrete_seed(seed)
    result = imaging.render_to_file(image_settings, text, out, seed=seed, init_image=init_image, diffchat=own)
    if as_json:
        request = result.request
        print(json.dumps({
            "image": str(out), "prompt": request.prompt, "seed": request.seed, "steps": request.steps,
            "cfg_scale": request.cfg_scale, "size": [request.width, request.height], "sampler": result.sampler,
            "model": result.model, "render_s": round(result.seconds, 4),
        }, ensure_ascii=False))
    else:
        print(out)
    if show:
        imaging.show_image(result.image, preview or settings.ui.image_protocol)


def _cleaned(raw: str, what: str) -> str:
    """Like `edit`: escapes removed with a warning, line breaks kept, oversized text cut with a warning."""
    cleaned = clean_user_text(raw, what, MAX_SOURCE_CHARS, multiline=True)
    for message in cleaned.warnings:
        warn(message)
    return cleaned.text


def info(
    image: Annotated[Path, typer.Argument(help="A picture from diffchat, A1111, ComfyUI, InvokeAI, ... (see the README).", dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print the generation parameters embedded in a picture."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from diffchat_tui.engines.image_files import read_generation_info

    found = read_generation_info(image)
    if found is None:
        raise BadInput(f"{image} carries no generation metadata diffchat can read")
    from diffchat_tui.core.clip_tokens import count_tokens

    tokens = count_tokens(found.prompt)
    if as_json:
        data = {"format": found.source, "prompt": found.prompt, "negative_prompt": found.negative_prompt}
        data |= {"parameters": found.params, "diffchat": found.diffchat, "seed": found.get_int("Seed")}
        data["clip_tokens"] = tokens.as_json()
        # ensure_ascii: a lone surrogate from someone's JSON must not stop the print.
        print(json.dumps(data, ensure_ascii=not _printable(data)))
        return
    # Metadata is someone else's text: no escapes reach the terminal and no markup is interpreted.
    table = Table(show_header=False, box=None)
    table.add_row("format", found.source)
    table.add_row("prompt", _shown(found.prompt))
    table.add_row("CLIP tokens", f"{tokens.total} ({tokens.label})")
    if found.negative_prompt:
        table.add_row("negative", _shown(found.negative_prompt))
    for key, value in found.params.items():
        table.add_row(_shown(key), _shown(value))
    for key in ("source_prompt", "instructions", "parent_sha256", "llm", "image_model"):
        if found.diffchat.get(key):
            value = found.diffchat[key]
            shown = " → ".join(map(str, value)) if isinstance(value, list) else str(value)
            table.add_row(Text(f"diffchat {key}"), _shown(shown))
    Console(highlight=False).print(table)


def _shown(text: str):
    from rich.text import Text

    return Text(shorten(strip_escapes(text), MAX_SHOWN_CHARS))


def _printable(data: object) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
