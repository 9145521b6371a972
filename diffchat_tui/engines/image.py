"""What an image engine is asked for and gives back, the small interface every engine offers, and the one
render → PNG path that the CLI and the TUI share (RL rewards build their requests the same way)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from diffchat_tui.core.errors import BadInput
from diffchat_tui.engines.image_files import save_png

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.config import ImageSettings

Progress = Callable[[int, int], None]
"""Called after each denoising step with (steps done, total steps)."""

SAMPLERS = {
    # A1111's sampler names → diffusers scheduler classes (and options).
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "DPM++ SDE": ("DPMSolverSinglestepScheduler", {}),
    "DDIM": ("DDIMScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "PNDM": ("PNDMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
}


class RenderCancelled(Exception):
    """The render was cancelled between two steps."""


@dataclass
class RenderRequest:
    """Everything one render depends on; unset fields take the model's defaults."""

    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None
    sampler: str | None = None
    """An A1111 name from SAMPLERS; None keeps the model's own scheduler."""
    init_image: Image | None = None
    """Set for img2img: the render starts from this picture."""
    strength: float = 0.5
    """img2img only: 0 keeps the input, 1 ignores it."""

    @classmethod
    def from_settings(
        cls, settings: ImageSettings, prompt: str, *, seed: int, init_image: Image | None = None, **overrides: Any
    ) -> RenderRequest:
        """The request the image settings make for a prompt; overrides (the TUI's parameter bar) win.

        Every caller builds its request here, so a setting the CLI honours cannot be forgotten by the TUI.
        """
        configured = {
            "negative_prompt": settings.negative_prompt, "steps": settings.steps, "cfg_scale": settings.cfg_scale,
            "width": settings.width, "height": settings.height, "sampler": settings.sampler, "strength": settings.strength,
        }  # fmt: skip
        unknown = set(overrides) - set(configured)
        if unknown:
            raise TypeError(f"not a render setting: {', '.join(sorted(unknown))}")
        return cls(prompt, seed=seed, init_image=init_image, **(configured | overrides))


@dataclass
class RenderResult:
    image: Image
    request: RenderRequest
    """The request with every default filled in: what was really rendered."""
    model: str
    sampler: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    """Facts for the metadata: RNG source, device, dtype, library versions."""


class ImageEngine(Protocol):
    name: str

    def load(self) -> float:
        """Load the pipeline if needed; returns the seconds it took (0 when already warm)."""
        ...

    def render(
        self, request: RenderRequest, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> RenderResult:
        """txt2img, or img2img when request.init_image is set."""
        ...


def render_and_save(
    engine: ImageEngine,
    request: RenderRequest,
    out: Path,
    *,
    metadata: bool = True,
    diffchat: dict[str, Any] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> RenderResult:
    """Render, then write the PNG (A1111 `parameters` and our `diffchat` chunk unless metadata is off)."""
    if out.suffix.lower() != ".png":
        raise BadInput(f"{out}: diffchat writes PNG files; name it .png")
    result = engine.render(request, progress=progress, cancel=cancel)
    save_png(result, out, metadata=metadata, diffchat=diffchat)
    return result
