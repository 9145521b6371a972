"""Other tools' generation metadata, read into one GenerationInfo with A1111's parameter names.

Pure Python over a picture's metadata texts: PNG text chunks by name, plus USER_COMMENT (the EXIF
UserComment of a JPEG/WebP, decoded) and XMP_KEY (the XMP packet), which engines/image_metadata.py
extracts. Which reader reads which tool's format (ours here, sd-parsers for InvokeAI and NovelAI) is
listed in the README. Everything is bounded: a graph with cycles, odd types or a million nodes is
walked in bounded steps and never raises.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

from diffchat_tui.core.infotext import DIFFCHAT_CHUNK, PARAMETERS_CHUNK, GenerationInfo, parse_parameters

USER_COMMENT = "UserComment"
"""The EXIF UserComment (A1111, SwarmUI and Fooocus write their text there in JPEG and WebP)."""
XMP_KEY = "XML:com.adobe.xmp"
"""The XMP packet: Pillow's PNG iTXt name for it; JPEG and WebP packets are filed under it too."""
MAX_GRAPH_STEPS = 2000
"""How many links one ComfyUI walk may follow; real graphs have tens of nodes."""


def read_info(chunks: dict[str, str]) -> GenerationInfo | None:
    """The generation info in a picture's metadata texts, from whichever tool made it; None if none.

    Our own `diffchat` chunk adds to (and names the source of) whatever A1111 text sits beside it.
    """
    info: GenerationInfo | None = None
    parameters = chunks.get(PARAMETERS_CHUNK) or chunks.get(USER_COMMENT)
    if parameters:
        info = _from_json_text(parameters) if parameters.lstrip().startswith("{") else parse_parameters(parameters)
        if info is not None and not info.params and PARAMETERS_CHUNK not in chunks:
            info = None  # a camera's or an editor's UserComment is a remark, not a prompt: A1111 text has its Key: value line
    if info is None and chunks.get("prompt"):
        info = comfyui(chunks["prompt"])
    if info is None:
        info = easydiffusion(chunks)
    if info is None and chunks.get(XMP_KEY):
        info = drawthings(chunks[XMP_KEY])
    own = chunks.get(DIFFCHAT_CHUNK)
    if own:
        data = _json_object(own)
        if data is not None:
            info = info or GenerationInfo(_text(data.get("prompt")))
            info.diffchat = data
            info.source = "diffchat"
    return info if info is not None and info.prompt else None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _scalar(value: object) -> str | None:
    """A parameter value as A1111 would write it; None for what is not a plain number or text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return str(value)


def _params(pairs: dict[str, object]) -> dict[str, str]:
    return {key: text for key, value in pairs.items() if (text := _scalar(value)) is not None}


def _size(width: object, height: object) -> str | None:
    return f"{width}x{height}" if isinstance(width, int) and isinstance(height, int) else None


def _from_json_text(text: str) -> GenerationInfo | None:
    """`parameters` (or a UserComment) holding JSON: SwarmUI, Fooocus, Easy Diffusion or Draw Things."""
    data = _json_object(text)
    if data is None:
        return None
    if isinstance(data.get("sui_image_params"), dict):
        return swarmui(data["sui_image_params"])
    if "c" in data and isinstance(data["c"], str):
        return _drawthings_json(data)
    if "prompt" in data and ("use_stable_diffusion_model" in data or "num_inference_steps" in data):
        return easydiffusion({key: str(value) for key, value in data.items()})
    return fooocus(data)


def fooocus(data: dict[str, Any]) -> GenerationInfo | None:
    """Fooocus's own scheme: `parameters` is a JSON object (modules/meta_parser.py, `fooocus` scheme)."""
    if not isinstance(data.get("prompt"), str):
        return None
    names = {"steps": "Steps", "sampler": "Sampler", "guidance_scale": "CFG scale", "seed": "Seed",
             "resolution": "Size", "base_model": "Model"}  # fmt: skip
    params = _params({label: data[key] for key, label in names.items() if key in data})
    if isinstance(params.get("Size"), str):  # Fooocus writes "(1024, 1024)"
        params["Size"] = "x".join(part.strip(" ()") for part in params["Size"].split(","))
    return GenerationInfo(data["prompt"], _text(data.get("negative_prompt")), params, "fooocus")


def swarmui(params: dict[str, Any]) -> GenerationInfo | None:
    """SwarmUI: `parameters` (PNG) or UserComment (JPEG) is {"sui_image_params": {...}}, the parameter ids
    lower-cased (SwarmUI docs/Image Metadata Format.md)."""
    if not isinstance(params.get("prompt"), str):
        return None
    found = _params({
        "Steps": params.get("steps"), "Sampler": params.get("sampler"), "Schedule type": params.get("scheduler"),
        "CFG scale": params.get("cfgscale"), "Seed": params.get("seed"), "Model": params.get("model"),
    })  # fmt: skip
    if size := _size(params.get("width"), params.get("height")):
        found["Size"] = size
    return GenerationInfo(params["prompt"], _text(params.get("negativeprompt")), found, "swarmui")


# Easy Diffusion embeds each task field as its own PNG text chunk (sdkit save_dicts(output_format="embed")),
# named by its internal id or, in other versions, its display name (easydiffusion save_utils.TASK_TEXT_MAPPING).
_EASYDIFFUSION = {
    "Seed": ("seed", "Seed"), "Steps": ("num_inference_steps", "Steps"), "CFG scale": ("guidance_scale", "Guidance Scale"),
    "Sampler": ("sampler_name", "Sampler"), "Model": ("use_stable_diffusion_model", "Stable Diffusion model"),
}  # fmt: skip


def easydiffusion(chunks: dict[str, str]) -> GenerationInfo | None:
    prompt = chunks.get("prompt") or chunks.get("Prompt")
    known = {name for names in _EASYDIFFUSION.values() for name in names} | {"negative_prompt", "Negative Prompt"}
    if not isinstance(prompt, str) or not known & set(chunks):
        return None  # a lone `prompt` chunk that is not a ComfyUI graph says too little to be sure
    params = {label: chunks[name] for label, names in _EASYDIFFUSION.items() for name in names if name in chunks}
    width, height = chunks.get("width") or chunks.get("Width"), chunks.get("height") or chunks.get("Height")
    if width and height:
        params["Size"] = f"{width}x{height}"
    negative = chunks.get("negative_prompt") or chunks.get("Negative Prompt") or ""
    return GenerationInfo(prompt, negative, params, "easydiffusion")


_XMP_NAMES = {"exif": "http://ns.adobe.com/exif/1.0/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


def drawthings(xmp: str) -> GenerationInfo | None:
    """Draw Things: an XMP packet whose exif:UserComment (an rdf:Alt) holds a JSON object with the prompt
    in "c" and the negative prompt in "uc"."""
    try:
        root = ElementTree.fromstring(xmp.strip().encode("utf-8"))
    except (ElementTree.ParseError, ValueError):
        return None
    for comment in root.iter(f"{{{_XMP_NAMES['exif']}}}UserComment"):
        texts = [item.text or "" for item in comment.iter(f"{{{_XMP_NAMES['rdf']}}}li")] or [comment.text or ""]
        for text in texts:
            data = _json_object(text)
            if data is not None and isinstance(data.get("c"), str):
                return _drawthings_json(data)
    return None


def _drawthings_json(data: dict[str, Any]) -> GenerationInfo:
    params = _params({"Steps": data.get("steps"), "Sampler": data.get("sampler"), "CFG scale": data.get("scale"),
                      "Seed": data.get("seed"), "Size": data.get("size"), "Model": data.get("model")})  # fmt: skip
    return GenerationInfo(data["c"], _text(data.get("uc")), params, "drawthings")


# --- ComfyUI: the API graph in the `prompt` chunk (nodes.py SaveImage: metadata.add_text("prompt", json.dumps(prompt))) ---

_TEXT_INPUTS = ("text", "text_g", "t5xxl", "clip_l", "text_l", "prompt", "string", "value")
"""Where an encoder (CLIPTextEncode, CLIPTextEncodeSDXL, CLIPTextEncodeFlux) or a string node keeps its text."""
_NOT_CONDITIONING = {"clip", "model", "vae", "image", "pixels", "samples", "latent", "latent_image", "mask", "control_net",
                     "clip_vision", "clip_vision_output", "style_model", "noise", "sigmas", "sampler", "guider"}  # fmt: skip


def _link(value: object) -> tuple[str, int] | None:
    """A ComfyUI link is [node id, output index]."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int) and isinstance(value[1], int):
        return str(value[0]), value[1]
    return None


def _inputs(graph: dict[str, Any], node_id: str) -> dict[str, Any]:
    node = graph.get(node_id)
    inputs = node.get("inputs") if isinstance(node, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def _resolve(graph: dict[str, Any], value: object, keys: tuple[str, ...]) -> object:
    """A value, or what the chain of nodes a link points to holds under one of keys (a primitive node)."""
    for _ in range(32):
        link = _link(value)
        if link is None:
            return value
        inputs = _inputs(graph, link[0])
        value = next((inputs[key] for key in keys if key in inputs), None)
    return None


def _own_text(graph: dict[str, Any], inputs: dict[str, Any]) -> str | None:
    for key in _TEXT_INPUTS:
        if key in inputs:
            text = _resolve(graph, inputs[key], _TEXT_INPUTS)
            if isinstance(text, str):
                return text.strip()
    return None


def _texts_behind(graph: dict[str, Any], start: object) -> list[str]:
    """Every prompt text a conditioning input leads to, through combine / area / unCLIP / ControlNet nodes."""
    found: list[str] = []
    stack, seen = [start], set()
    while stack and len(seen) < MAX_GRAPH_STEPS:
        link = _link(stack.pop())
        if link is None or link in seen:
            continue
        seen.add(link)
        inputs = _inputs(graph, link[0])
        text = _own_text(graph, inputs)
        if text is not None:
            if text and text not in found:
                found.append(text)
            continue
        if _link(inputs.get("positive")) and _link(inputs.get("negative")):
            stack.append(inputs["positive" if link[1] == 0 else "negative"])  # ControlNetApplyAdvanced: outputs (positive, negative)
            continue
        links = [(key, value) for key, value in inputs.items() if _link(value)]
        preferred = [value for key, value in links if key.startswith("cond")]
        stack.extend(reversed(preferred or [value for key, value in links if key not in _NOT_CONDITIONING]))
    return found


def _is_sampler(node: dict[str, Any], inputs: dict[str, Any]) -> bool:
    kind = node.get("class_type") if isinstance(node.get("class_type"), str) else ""
    if _link(inputs.get("positive")):
        return "seed" in inputs or "noise_seed" in inputs or "Sampler" in kind or "Guider" in kind
    return kind.endswith("Guider") and _link(inputs.get("conditioning")) is not None


def _anywhere(graph: dict[str, Any], key: str) -> object:
    """A scalar some node holds under key (SamplerCustomAdvanced keeps its seed and steps on other nodes)."""
    for node_id in list(graph)[:MAX_GRAPH_STEPS]:
        value = _inputs(graph, node_id).get(key)
        if _scalar(value) is not None:
            return value
    return None


def comfyui(graph_text: str) -> GenerationInfo | None:
    """ComfyUI's API graph: the first sampler (KSampler, SamplerCustom, a guider) whose positive input leads
    to prompt text; texts combined by conditioning nodes are joined with ", "."""
    graph = _json_object(graph_text)
    if graph is None:
        return None
    for node_id in list(graph)[:MAX_GRAPH_STEPS]:
        node = graph[node_id]
        inputs = _inputs(graph, node_id)
        if not isinstance(node, dict) or not _is_sampler(node, inputs):
            continue
        positive = _texts_behind(graph, inputs.get("positive", inputs.get("conditioning")))
        if not positive:
            continue
        guided = "seed" not in inputs and "noise_seed" not in inputs

        def value(key: str, *alternatives: str, guided: bool = guided, inputs: dict = inputs) -> object:
            for name in (key, *alternatives):
                if name in inputs:
                    return _resolve(graph, inputs[name], (name, "value", "seed", "int", "float"))
            return _anywhere(graph, key) if guided else None

        seed = value("seed", "noise_seed")
        params = _params({"Steps": value("steps"), "Sampler": value("sampler_name"), "Schedule type": value("scheduler"),
                          "CFG scale": value("cfg"), "Seed": seed if seed is not None else _anywhere(graph, "noise_seed")})  # fmt: skip
        latent = _link(inputs.get("latent_image"))
        if latent and (size := _size(*(_inputs(graph, latent[0]).get(key) for key in ("width", "height")))):
            params["Size"] = size
        negative = _texts_behind(graph, inputs.get("negative"))
        return GenerationInfo(", ".join(positive), ", ".join(negative), params, "comfyui")
    return None
