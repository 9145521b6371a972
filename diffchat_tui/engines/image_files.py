"""Reading pictures safely and writing PNGs with their generation metadata, atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.infotext import DIFFCHAT_CHUNK, PARAMETERS_CHUNK, GenerationInfo, format_parameters
from diffchat_tui.core.text import strip_escapes
from diffchat_tui.engines.image_metadata import picture_metadata, read_picture_info

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.engines.image import RenderResult

MAX_PIXELS = 64_000_000
"""Refuse decompression bombs, but allow any real photo."""


def open_image(path: Path) -> tuple[Image, dict[str, str]]:
    """The picture (fully decoded) and its metadata texts (PNG chunks, EXIF UserComment, XMP); BadInput if
    it is missing or not an image."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as picture:
            picture.load()
            return picture.copy(), picture_metadata(picture)
    except FileNotFoundError:
        raise BadInput(f"image not found: {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder, not an image") from None
    except UnidentifiedImageError:
        raise BadInput(f"{path} is not an image diffchat can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadInput(f"cannot read image {path}: {exc}") from None


def read_generation_info(path: Path) -> GenerationInfo | None:
    return read_picture_info(open_image(path)[1])


def check_writable(path: Path) -> None:
    """Refuse an output PNG that cannot be written before anything slow runs (a model load, a render)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise BadInput(f"{path}: diffchat writes PNG files; name it .png")
    folder = path.parent
    if not folder.is_dir():
        raise BadInput(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder")
    try:  # the only honest test: permissions, a read-only mount and quotas all show here
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def public_model_name(spec: str) -> str:
    """What a shared picture may say about a model: a hub id as it is, a local file or folder by its name
    only (A1111 writes the checkpoint's name; a full path would give away user and folder names)."""
    local = Path(spec).expanduser()
    if spec.startswith(("/", "~", ".")) or local.exists():
        return local.stem if local.suffix in (".safetensors", ".ckpt", ".gguf") else local.name
    return spec


def checkpoint_hash(spec: str) -> str | None:
    """A1111's `Model hash` (the first 10 hex digits of the checkpoint's sha256, what Civitai matches on) for
    a single-file checkpoint; None for a diffusers folder or hub id, which have no one file to hash."""
    path = Path(spec).expanduser()
    if path.suffix != ".safetensors" or not path.is_file():
        return None
    stat = path.stat()
    return _sha256_prefix(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _sha256_prefix(path: str, size: int, mtime_ns: int) -> str:
    """Hashing gigabytes takes seconds: the result is kept per (file, size, mtime) in the cache dir."""
    store = paths.cache_dir() / "checkpoint-hashes.json"
    key = f"{path}|{size}|{mtime_ns}"
    try:
        known = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), str):
        return known[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(2**20):
            digest.update(block)
    known[key] = digest.hexdigest()[:10]
    with contextlib.suppress(OSError):  # only a cache: a full disk costs a re-hash next time
        paths.write_atomically(store, json.dumps(known).encode())
    return known[key]


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
        "Model hash": checkpoint_hash(result.model),
        "Model": public_model_name(result.model),
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
    import io

    from PIL.PngImagePlugin import PngInfo

    info = None
    if metadata:
        info = PngInfo()
        request = result.request
        # Whoever reads the picture gets no escapes from it, whichever field they came in by.
        prompt, negative = strip_escapes(request.prompt), strip_escapes(request.negative_prompt)
        info.add_text(PARAMETERS_CHUNK, format_parameters(prompt, negative, a1111_params(result)))
        own = {"prompt": prompt, **(diffchat or {}), "versions": library_versions()}
        for key in ("image_model", "llm"):
            if isinstance(own.get(key), str):
                own[key] = "+".join(public_model_name(part) for part in own[key].split("+"))
        info.add_text(DIFFCHAT_CHUNK, json.dumps(own, ensure_ascii=False))
    path = Path(path)
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
    encoded = io.BytesIO()
    result.image.save(encoded, format="PNG", pnginfo=info)
    try:
        paths.write_atomically(path, encoded.getvalue())
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
