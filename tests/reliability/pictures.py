"""Tiny pictures carrying each SD tool's metadata as that tool writes it, built from the tools' documented
formats and writers (cited per format); no other project's files are copied.

Each FORMATS entry writes one picture and names the prompt, negative prompt and seed it must read back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

PROMPT = "a lighthouse on a cliff, (storm:1.2), <lora:waves:0.6>"
NEGATIVE = "blurry, lowres"
SEED = 1234567


def _png(path: Path, texts: dict[str, str], itxt: dict[str, str] | None = None) -> Path:
    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    for key, value in (itxt or {}).items():
        info.add_itxt(key, value)
    Image.new("RGB", (64, 64), (90, 120, 150)).save(path, "PNG", pnginfo=info)
    return path


def _with_user_comment(path: Path, text: str, kind: str) -> Path:
    """EXIF UserComment as piexif's UserComment.dump(text, encoding="unicode") makes it: "UNICODE\\0" then
    UTF-16 big-endian (A1111 modules/images.py save_image_with_geninfo for JPEG and WebP)."""
    exif = Image.Exif()
    exif[0x8769] = {0x9286: b"UNICODE\0" + text.encode("utf-16-be")}
    Image.new("RGB", (64, 64), (90, 120, 150)).save(path, kind, exif=exif.tobytes())
    return path


# A1111 infotext (modules/infotext_utils.py create_infotext): prompt, "Negative prompt:" line, then
# "Key: value" pairs, a value with a comma or colon JSON-quoted.
A1111_TEXT = (
    f"{PROMPT}\nNegative prompt: {NEGATIVE}\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, "
    f'Seed: {SEED}, Size: 64x64, Model hash: 6ce0161689, Model: "v1-5, pruned", Version: v1.10.1'
)


def a1111_png(path: Path) -> Path:
    return _png(path, {"parameters": A1111_TEXT})


def a1111_jpeg(path: Path) -> Path:
    return _with_user_comment(path, A1111_TEXT, "JPEG")


def a1111_webp(path: Path) -> Path:
    return _with_user_comment(path, A1111_TEXT, "WEBP")


def fooocus(path: Path) -> Path:
    """Fooocus's own scheme (modules/meta_parser.py FooocusMetadataParser): `parameters` is JSON, the seed a string."""
    data = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": str(SEED), "steps": 30, "guidance_scale": 4,
            "sampler": "dpmpp_2m_sde_gpu", "resolution": "(1024, 1024)", "base_model": "juggernautXL_v8Rundiffusion",
            "version": "Fooocus v2.5.5"}  # fmt: skip
    return _png(path, {"parameters": json.dumps(data), "fooocus_scheme": "fooocus"})


SWARM = {"sui_image_params": {"prompt": PROMPT, "negativeprompt": NEGATIVE, "model": "OfficialStableDiffusion/sd_xl_base_1.0",
                              "seed": SEED, "steps": 20, "cfgscale": 7.0, "width": 1024, "height": 1024, "sampler": "euler",
                              "scheduler": "normal", "swarm_version": "0.9.5"}}  # fmt: skip


def swarmui_png(path: Path) -> Path:
    """SwarmUI docs/Image Metadata Format.md: PNG text chunk `parameters` holding {"sui_image_params": {...}}."""
    return _png(path, {"parameters": json.dumps(SWARM, indent=2)})


def swarmui_jpeg(path: Path) -> Path:
    """The same JSON in the EXIF UserComment for JPEG (same document)."""
    return _with_user_comment(path, json.dumps(SWARM), "JPEG")


def easydiffusion(path: Path) -> Path:
    """Easy Diffusion with metadata_output_format "embed": sdkit's save_dicts writes each task field as its own
    PNG text chunk, named by its id (easydiffusion/utils/save_utils.py TASK_TEXT_MAPPING)."""
    fields = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": str(SEED), "use_stable_diffusion_model": "sd-v1-4",
              "sampler_name": "euler_a", "width": "512", "height": "512", "num_inference_steps": "25",
              "guidance_scale": "7.5"}  # fmt: skip
    return _png(path, fields)


def drawthings(path: Path) -> Path:
    """Draw Things: an XMP packet (PNG iTXt `XML:com.adobe.xmp`) whose exif:UserComment holds JSON with the
    prompt in "c" and the negative prompt in "uc"."""
    data = {"c": PROMPT, "uc": NEGATIVE, "seed": SEED, "steps": 20, "scale": 5, "sampler": "DPM++ 2M Karras",
            "size": "512x512", "model": "sd_v1.5_f16.ckpt"}  # fmt: skip
    comment = json.dumps(data).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xmp = (
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
        "<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:xmp='http://ns.adobe.com/xap/1.0/'>"
        f"<xmp:CreatorTool>Draw Things</xmp:CreatorTool><exif:UserComment><rdf:Alt><rdf:li xml:lang='x-default'>{comment}"
        "</rdf:li></rdf:Alt></exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return _png(path, {}, {"XML:com.adobe.xmp": xmp})


def invokeai_v3(path: Path) -> Path:
    """InvokeAI 3 and later: PNG text `invokeai_metadata`, the core metadata as JSON
    (invokeai/app/invocations/metadata.py CoreMetadataInvocation)."""
    data = {"generation_mode": "txt2img", "positive_prompt": PROMPT, "negative_prompt": NEGATIVE, "width": 512, "height": 512,
            "seed": SEED, "cfg_scale": 7.5, "steps": 30, "scheduler": "euler",
            "model": {"model_name": "stable-diffusion-v1-5", "base_model": "sd-1", "model_type": "main"}}  # fmt: skip
    return _png(path, {"invokeai_metadata": json.dumps(data)})


def invokeai_v2(path: Path) -> Path:
    """InvokeAI 2.x (ldm/invoke/pngwriter.py): `sd-metadata` JSON; the negative prompt is [bracketed] in the prompt."""
    data = {"model": "stable diffusion", "model_weights": "stable-diffusion-1.5", "app_id": "invoke-ai/InvokeAI",
            "app_version": "2.3.5", "image": {"prompt": [{"prompt": f"{PROMPT} [{NEGATIVE}]", "weight": 1.0}], "steps": 30,
            "cfg_scale": 7.5, "height": 512, "width": 512, "seed": SEED, "type": "txt2img", "sampler": "k_lms"}}  # fmt: skip
    return _png(path, {"sd-metadata": json.dumps(data)})


def invokeai_dream(path: Path) -> Path:
    """Legacy InvokeAI (the `dream` prompt): PNG text `Dream`, the prompt quoted, then its switches."""
    return _png(path, {"Dream": f'"{PROMPT} [{NEGATIVE}]" -s 30 -S {SEED} -W 512 -H 512 -C 7.5 -A k_lms'})


def novelai(path: Path) -> Path:
    """NovelAI: PNG text Title / Description (the prompt) / Software / Source / Comment (JSON, the negative in "uc")."""
    comment = {"steps": 28, "sampler": "k_euler_ancestral", "seed": SEED, "strength": 0.7, "noise": 0.2, "scale": 11.0,
               "uc": NEGATIVE}  # fmt: skip
    return _png(path, {"Title": "AI generated image", "Description": PROMPT, "Software": "NovelAI",
                       "Source": "Stable Diffusion 1D09D794", "Comment": json.dumps(comment)})  # fmt: skip


# --- ComfyUI: the API graph in the `prompt` text chunk, the UI graph in `workflow` (nodes.py SaveImage) ---

def _encoder(text: str) -> dict:
    return {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}}


def _graph(positive_chain: dict, positive: list) -> dict:
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "7": _encoder(NEGATIVE),
        "3": {"class_type": "KSampler", "inputs": {"seed": SEED, "steps": 20, "cfg": 8, "sampler_name": "euler",
              "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": positive, "negative": ["7", 0],
              "latent_image": ["5", 0]}},  # fmt: skip
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    }
    return graph | positive_chain


COMFY_GRAPHS = {
    "plain": _graph({"6": _encoder(PROMPT)}, ["6", 0]),
    # two prompts combined: both texts are the prompt
    "combine": _graph({"6": _encoder("a lighthouse on a cliff"), "10": _encoder("(storm:1.2), <lora:waves:0.6>"),
                       "11": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["6", 0], "conditioning_2": ["10", 0]}}},
                      ["11", 0]),  # fmt: skip
    # regional prompting through ConditioningSetArea, then unCLIP on top
    "area-unclip": _graph({"6": _encoder(PROMPT),
                           "12": {"class_type": "ConditioningSetArea", "inputs": {"conditioning": ["6", 0], "width": 64, "height": 64,
                                  "x": 0, "y": 0, "strength": 1.0}},
                           "13": {"class_type": "CLIPVisionEncode", "inputs": {"clip_vision": ["14", 0], "image": ["15", 0]}},
                           "14": {"class_type": "CLIPVisionLoader", "inputs": {"clip_name": "clip_vision_g.safetensors"}},
                           "15": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}},
                           "16": {"class_type": "unCLIPConditioning", "inputs": {"conditioning": ["12", 0], "clip_vision_output": ["13", 0],
                                  "strength": 1.0, "noise_augmentation": 0.0}}},
                          ["16", 0]),  # fmt: skip
    # ControlNetApplyAdvanced has outputs (positive, negative): the sampler's positive is its output 0
    "controlnet": _graph({"6": _encoder(PROMPT),
                          "17": {"class_type": "ControlNetApplyAdvanced", "inputs": {"positive": ["6", 0], "negative": ["7", 0],
                                 "control_net": ["18", 0], "image": ["15", 0], "strength": 1.0, "start_percent": 0, "end_percent": 1}},
                          "18": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "canny.safetensors"}},
                          "15": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}}},
                         ["17", 0]),  # fmt: skip
}


def comfyui(path: Path, graph: dict) -> Path:
    return _png(path, {"prompt": json.dumps(graph), "workflow": json.dumps({"nodes": [], "links": []})})


@dataclass(frozen=True)
class Format:
    write: Callable[[Path], Path]
    suffix: str
    source: str
    negative: str = NEGATIVE
    prompt: str = PROMPT


FORMATS = {
    "a1111-png": Format(a1111_png, ".png", "a1111"),
    "a1111-jpeg": Format(a1111_jpeg, ".jpg", "a1111"),
    "a1111-webp": Format(a1111_webp, ".webp", "a1111"),
    "fooocus": Format(fooocus, ".png", "fooocus"),
    "swarmui-png": Format(swarmui_png, ".png", "swarmui"),
    "swarmui-jpeg": Format(swarmui_jpeg, ".jpg", "swarmui"),
    "easydiffusion": Format(easydiffusion, ".png", "easydiffusion"),
    "drawthings": Format(drawthings, ".png", "drawthings"),
    "invokeai-3": Format(invokeai_v3, ".png", "invokeai"),
    "invokeai-2": Format(invokeai_v2, ".png", "invokeai"),
    "invokeai-dream": Format(invokeai_dream, ".png", "invokeai"),
    "novelai": Format(novelai, ".png", "novelai"),
    **{f"comfyui-{name}": Format(lambda path, graph=graph: comfyui(path, graph), ".png", "comfyui",
                                 prompt=PROMPT if name != "combine" else "a lighthouse on a cliff, (storm:1.2), <lora:waves:0.6>")
       for name, graph in COMFY_GRAPHS.items()},  # fmt: skip
}
