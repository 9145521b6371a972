"""Generation parameters as text: A1111's `parameters` format (infotext), which we write and read.

A1111 writes the prompt, a `Negative prompt:` line, then one `Key: value, Key: value` line;
values holding a comma, colon or newline are JSON-quoted. Other tools' formats are read in
core/tool_metadata.py into the same GenerationInfo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

PARAMETERS_CHUNK = "parameters"
DIFFCHAT_CHUNK = "diffchat"
_NEGATIVE = "Negative prompt:"
# One `Key: value` pair of A1111's last line; a value is JSON-quoted or runs to the next comma.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@dataclass
class GenerationInfo:
    """What a picture says about how it was made, whichever tool wrote it."""

    prompt: str
    negative_prompt: str = ""
    params: dict[str, str] = field(default_factory=dict)
    """The A1111 `Key: value` pairs (Steps, Sampler, CFG scale, Seed, Size, Model, ...), as text."""
    source: str = "a1111"
    """Which format it came from: a1111, comfyui, fooocus, swarmui, easydiffusion, drawthings, invokeai,
    novelai or diffchat."""
    diffchat: dict[str, Any] = field(default_factory=dict)
    """Our own chunk: source prompt, instruction, parent image hash, model ids, library versions."""

    def get_int(self, key: str) -> int | None:
        try:
            return int(self.params[key])
        except (KeyError, ValueError):
            return None

    def get_float(self, key: str) -> float | None:
        try:
            return float(self.params[key])
        except (KeyError, ValueError):
            return None

    def render_settings(self, samplers: Collection[str]) -> tuple[dict[str, Any], list[str]]:
        """What a render needs from this (negative prompt, seed, steps, CFG, sampler, size), keyed as
        ImageSettings names them, and a warning for each value we cannot use (an unknown sampler)."""
        found: dict[str, Any] = {"negative_prompt": self.negative_prompt or None, "seed": self.get_int("Seed"),
                                 "steps": self.get_int("Steps"), "cfg_scale": self.get_float("CFG scale")}  # fmt: skip
        warnings = []
        sampler = self.params.get("Sampler")
        if sampler:
            karras = f"{sampler} Karras" if self.params.get("Schedule type", "").lower() == "karras" else sampler
            if karras in samplers or sampler in samplers:
                found["sampler"] = karras if karras in samplers else sampler
            else:
                warnings.append(f"the picture's sampler {sampler!r} is not one diffchat has; using the model's own")
        width, _, height = self.params.get("Size", "").partition("x")
        if width.strip().isdigit() and height.strip().isdigit():
            found |= {"width": int(width), "height": int(height)}
        return {key: value for key, value in found.items() if value is not None}, warnings


def quote(value: object) -> str:
    """Quote a value the way A1111 does: only when a comma, colon or newline would break parsing."""
    text = str(value)
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def format_parameters(prompt: str, negative_prompt: str, params: dict[str, object]) -> str:
    """A1111's `parameters` text. Keys with a None value are left out."""
    lines = [prompt]
    if negative_prompt:
        lines.append(f"{_NEGATIVE} {negative_prompt}")
    pairs = [f"{key}: {quote(value)}" for key, value in params.items() if value is not None]
    lines.append(", ".join(pairs))
    return "\n".join(lines)


def looks_like_parameters(text: str) -> bool:
    """Whether pasted text is a whole parameters block (a prompt, then `Negative prompt:` or a `Steps: ...` line)."""
    lines = [line for line in text.strip().split("\n") if line.strip()]
    return len(lines) >= 2 and (any(line.startswith("Negative prompt:") for line in lines) or len(_PARAM.findall(lines[-1])) >= 3)


def parse_parameters(text: str) -> GenerationInfo:
    """Parse A1111's `parameters` text; a last line with fewer than 3 pairs is taken as prompt."""
    lines = text.strip().split("\n")
    params: dict[str, str] = {}
    if lines and len(_PARAM.findall(lines[-1])) >= 3:
        params = {key.strip(): unquote(value.strip()) for key, value in _PARAM.findall(lines.pop())}
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    for line in lines:
        if line.startswith(_NEGATIVE) and not negative_lines:
            negative_lines.append(line[len(_NEGATIVE) :].strip())
        elif negative_lines:
            negative_lines.append(line)
        else:
            prompt_lines.append(line)
    return GenerationInfo("\n".join(prompt_lines).strip(), "\n".join(negative_lines).strip(), params)
