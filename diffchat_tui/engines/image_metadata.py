"""A picture's metadata texts, wherever its tool put them, and the readers that make sense of them.

PNG text chunks come as they are; a JPEG's or WebP's EXIF UserComment is decoded from its charset
prefix; an XMP packet is filed under one name. core/tool_metadata.py reads A1111, ComfyUI, Fooocus,
SwarmUI, Easy Diffusion, Draw Things and our own chunk; the maintained sd-parsers package reads
InvokeAI (its three metadata generations) and NovelAI, which we do not re-implement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diffchat_tui.core.infotext import GenerationInfo
from diffchat_tui.core.tool_metadata import USER_COMMENT, XMP_KEY, read_info

if TYPE_CHECKING:
    from PIL.Image import Image

EXIF_IFD = 0x8769
USER_COMMENT_TAG = 0x9286
MAX_TEXT_CHARS = 4_000_000
"""A metadata text longer than this is not generation info; it is left out rather than parsed."""


def decode_user_comment(raw: bytes | str) -> str:
    """EXIF UserComment: an 8-byte charset prefix, then the text. A1111 writes it with piexif's
    UserComment.dump(..., encoding="unicode"): "UNICODE\\0" and UTF-16 big-endian."""
    if isinstance(raw, str):
        return raw.rstrip("\0")
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\0":
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace").rstrip("\0")
        # No byte-order mark: big-endian as the EXIF standard says, unless the text is plainly little-endian.
        little = body[1:2] == b"\0" and body[:1] != b"\0"
        return body.decode("utf-16-le" if little else "utf-16-be", errors="replace").rstrip("\0")
    if prefix in (b"ASCII\0\0\0", b"\0" * 8):
        return body.decode("utf-8", errors="replace").rstrip("\0")
    return raw.decode("utf-8", errors="replace").rstrip("\0")


def picture_metadata(picture: Image) -> dict[str, str]:
    """Every metadata text of an opened picture, by name (see core/tool_metadata.py for the names)."""
    texts = {key: str(value) for key, value in picture.info.items() if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS}
    xmp = picture.info.get("xmp")
    if isinstance(xmp, bytes) and XMP_KEY not in texts and len(xmp) <= MAX_TEXT_CHARS:
        texts[XMP_KEY] = xmp.decode("utf-8", errors="replace")
    try:
        comment = picture.getexif().get_ifd(EXIF_IFD).get(USER_COMMENT_TAG)
    except Exception:  # noqa: BLE001 - a broken EXIF block is no metadata, not a broken picture
        comment = None
    if isinstance(comment, bytes | str) and len(comment) <= MAX_TEXT_CHARS:
        text = decode_user_comment(comment).strip()
        if text:
            texts[USER_COMMENT] = text
    return texts


def read_picture_info(texts: dict[str, str]) -> GenerationInfo | None:
    """What the picture says about how it was made, from whichever tool made it; None if nothing."""
    return read_info(texts) or _with_sd_parsers(texts)


def _with_sd_parsers(texts: dict[str, str]) -> GenerationInfo | None:
    """InvokeAI (`invokeai_metadata`, `sd-metadata`, `Dream`) and NovelAI (`Comment` + `Description`)."""
    from sd_parsers.exceptions import ParserError
    from sd_parsers.parsers import InvokeAIParser, NovelAIParser

    for parser, source in ((InvokeAIParser(), "invokeai"), (NovelAIParser(), "novelai")):
        try:
            found = parser.parse(dict(texts))
        except (ParserError, KeyError, ValueError, TypeError, AttributeError):
            continue
        prompt = found.full_prompt
        if prompt:
            return GenerationInfo(prompt, found.full_negative_prompt, _sd_parsers_params(found), source)
    return None


def _sd_parsers_params(found: Any) -> dict[str, str]:
    """sd-parsers' normalized parameters under A1111's names."""
    params: dict[str, str] = {}
    sampler = found.samplers[0] if found.samplers else None
    if sampler is not None:
        values = sampler.parameters
        params["Sampler"] = str(sampler.name)
        for key, label in (("steps", "Steps"), ("cfg_scale", "CFG scale"), ("seed", "Seed")):
            value = values.get(key, found.metadata.get(key))  # NovelAI's steps stay in the metadata
            if value is not None:
                params[label] = str(value)
        if sampler.model is not None and sampler.model.name:
            params["Model"] = str(sampler.model.name)
    width, height = found.metadata.get("width"), found.metadata.get("height")
    if width and height:
        params["Size"] = f"{width}x{height}"
    return params
