"""Generation parameters as text: A1111's `parameters` format, plus reading other tools' metadata.

A1111 writes the prompt, a `Negative prompt:` line, then one `Key: value, Key: value` line;
values holding a comma, colon or newline are JSON-quoted. Everything here is pure Python
over the PNG text chunks (a dict of chunk name → text).
"""

from __future__ import annotations

import json
import re
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
    """Which format it came from: a1111, comfyui, fooocus or diffchat."""
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


def _comfyui(graph_text: str) -> GenerationInfo | None:
    """ComfyUI's API graph: follow each sampler's positive/negative inputs to their text encoders."""
    try:
        graph = json.loads(graph_text)
    except json.JSONDecodeError:
        return None
    if not isinstance(graph, dict):
        return None

    def text_of(link: object) -> str:
        if not (isinstance(link, list) and link and str(link[0]) in graph):
            return ""
        inputs = graph[str(link[0])].get("inputs", {})
        text = inputs.get("text", inputs.get("text_g", ""))
        return text if isinstance(text, str) else text_of(text)

    for node in graph.values():
        inputs = node.get("inputs", {}) if isinstance(node, dict) else {}
        if "positive" in inputs and ("seed" in inputs or "noise_seed" in inputs):
            params = {
                "Steps": inputs.get("steps"),
                "Sampler": inputs.get("sampler_name"),
                "CFG scale": inputs.get("cfg"),
                "Seed": inputs.get("seed", inputs.get("noise_seed")),
            }
            params = {key: str(value) for key, value in params.items() if value is not None}
            return GenerationInfo(text_of(inputs["positive"]), text_of(inputs.get("negative")), params, "comfyui")
    return None


def _fooocus(parameters_text: str) -> GenerationInfo | None:
    """Fooocus's own scheme stores `parameters` as a JSON object."""
    try:
        data = json.loads(parameters_text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or "prompt" not in data:
        return None
    names = {"steps": "Steps", "sampler": "Sampler", "guidance_scale": "CFG scale", "seed": "Seed"}
    names |= {"resolution": "Size", "base_model": "Model"}
    params = {label: str(data[key]) for key, label in names.items() if key in data}
    return GenerationInfo(str(data["prompt"]), str(data.get("negative_prompt", "")), params, "fooocus")


def read_info(chunks: dict[str, str]) -> GenerationInfo | None:
    """The generation info in a picture's text chunks, from whichever tool made it; None if none."""
    info: GenerationInfo | None = None
    parameters = chunks.get(PARAMETERS_CHUNK)
    if parameters:
        info = _fooocus(parameters) if parameters.lstrip().startswith("{") else parse_parameters(parameters)
    elif chunks.get("prompt"):
        info = _comfyui(chunks["prompt"])
    own = chunks.get(DIFFCHAT_CHUNK)
    if own:
        try:
            data = json.loads(own)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            info = info or GenerationInfo(str(data.get("prompt", "")))
            info.diffchat = data
            info.source = "diffchat"
    return info if info is not None and info.prompt else None
