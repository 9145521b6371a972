"""Options that several commands share, and turning the flags a user gave into settings (unset flags keep the config)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.seeds import MAX_SEED

if TYPE_CHECKING:
    from diffchat_tui.config import ImageSettings, LLMSettings

# -- the language model: the bare `diffchat` (the TUI) and `edit` --

Model = Annotated[Optional[str], typer.Option("--model", help="embedded, a .gguf path, or OWNER/REPO/FILE.gguf.")]
Lora = Annotated[Optional[str], typer.Option("--lora", help="LoRA adapter GGUF to apply.")]
LlmUrl = Annotated[Optional[str], typer.Option("--llm-url", help="OpenAI-compatible server to use instead of a local model.")]
SEED_RANGE = {"min": -1, "max": MAX_SEED}
"""0..2^32-1 as in A1111 (llama.cpp's seed is 32 bits); -1 picks one, and the picture records the one picked."""


def llm_settings(base: LLMSettings, **flags: Any) -> LLMSettings:
    """The configured LLM settings with the flags the user gave on top (unset flags keep the config)."""
    return base.model_copy(update={key: value for key, value in flags.items() if value is not None})


# -- the image model: `edit --render`, `render`, and the TUI --

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
    sampler = overrides.get("sampler")
    if sampler is not None:
        from diffchat_tui.engines.image import SAMPLERS  # checked now, not after the pipeline has loaded

        if sampler not in SAMPLERS:
            raise BadInput(f"unknown sampler {sampler!r}; choose from: {', '.join(SAMPLERS)}")
    overrides |= {"width": width, "height": height, "metadata": False if no_metadata else None}
    return base.model_copy(update={key: value for key, value in overrides.items() if value is not None})
