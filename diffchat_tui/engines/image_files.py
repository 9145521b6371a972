"""Reading pictures safely and writing PNGs with their generation metadata, atomically."""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.infotext import DIFFCHAT_CHUNK, PARAMETERS_CHUNK, GenerationInfo, format_parameters, read_info

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.engines.image import RenderResult

MAX_PIXELS = 64_000_000
"""Refuse decompression bombs, but allow any real photo."""


def open_image(path: Path) -> tuple[Image, dict[str, str]]:
    """The picture (fully decoded) and its text chunks; BadInput if it is missing or not an image."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as picture:
            picture.load()
            chunks = {key: value for key, value in picture.info.items() if isinstance(value, str)}
            return picture.copy(), chunks
    except FileNotFoundError:
        raise BadInput(f"image not found: {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder, not an image") from None
    except UnidentifiedImageError:
        raise BadInput(f"{path} is not an image diffchat can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadInput(f"cannot read image {path}: {exc}") from None


def read_generation_info(path: Path) -> GenerationInfo | None:
    return read_info(open_image(path)[1])


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    found = {}
    for package in ("diffchat", "diffusers", "torch", "transformers", "llama-cpp-python"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def a1111_params(result: RenderResult) -> dict[str, object]:
    """The `Key: value` line of A1111's infotext for a render."""
    request = result.request
    params: dict[str, object] = {
        "Steps": request.steps,
        "Sampler": result.sampler,
        "CFG scale": request.cfg_scale,
        "Seed": request.seed,
        "Size": f"{request.width}x{request.height}",
        "Model": result.model,
    }
    if request.init_image is not None:
        params["Denoising strength"] = request.strength
    params["RNG"] = result.extra.get("rng")
    params["Version"] = f"diffchat {library_versions().get('diffchat', '')}".strip()
    return params


def save_png(
    result: RenderResult, path: Path, *, metadata: bool = True, diffchat: dict[str, Any] | None = None
) -> Path:
    """Write the render as PNG through a temporary file and a rename, so no reader sees half a file.

    With metadata, A1111's `parameters` text and our own `diffchat` JSON chunk go in (tEXt, or
    iTXt when the text is not Latin-1).
    """
    from PIL.PngImagePlugin import PngInfo

    info = None
    if metadata:
        info = PngInfo()
        request = result.request
        info.add_text(PARAMETERS_CHUNK, format_parameters(request.prompt, request.negative_prompt, a1111_params(result)))
        own = {"prompt": request.prompt, **(diffchat or {}), "versions": library_versions()}
        info.add_text(DIFFCHAT_CHUNK, json.dumps(own, ensure_ascii=False))
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        result.image.save(partial, format="PNG", pnginfo=info)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
