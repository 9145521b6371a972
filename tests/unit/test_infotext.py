import json

from diffchat_tui.core.infotext import format_parameters, parse_parameters, quote
from diffchat_tui.core.tool_metadata import read_info

A1111_TEXT = (
    "masterpiece, a castle on a hill, (sunset:1.2)\n"
    "Negative prompt: blurry, lowres\n"
    'Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x768, '
    'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: "detail: 3e5a, style: 9f1c", Version: v1.10.1'
)


def test_parses_a1111_text():
    info = parse_parameters(A1111_TEXT)
    assert info.prompt == "masterpiece, a castle on a hill, (sunset:1.2)"
    assert info.negative_prompt == "blurry, lowres"
    assert info.get_int("Seed") == 1234 and info.get_int("Steps") == 20 and info.get_float("CFG scale") == 7.0
    assert info.params["Size"] == "512x768"
    assert info.params["Lora hashes"] == "detail: 3e5a, style: 9f1c"  # quoted values come back unquoted


def test_quotes_like_a1111_and_round_trips():
    assert quote("Euler a") == "Euler a"
    assert quote("a, b") == '"a, b"' and quote('say "hi": now') == '"say \\"hi\\": now"'
    params = {"Steps": 2, "Sampler": "Euler a", "CFG scale": 0.0, "Seed": 7, "Size": "64x64", "Model": "/models/x, y"}
    text = format_parameters("a cat on a sofa,\nneon", "blurry", params)
    info = parse_parameters(text)
    assert (info.prompt, info.negative_prompt) == ("a cat on a sofa,\nneon", "blurry")
    assert info.params == {key: str(value) for key, value in params.items()}


def test_a_prompt_without_parameters_stays_a_prompt():
    info = parse_parameters("just a prompt, with: a colon")
    assert info.prompt == "just a prompt, with: a colon" and info.params == {}


def test_reads_comfyui_graphs():
    graph = {
        "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 8, "cfg": 1.5, "sampler_name": "euler",
                                                    "positive": ["6", 0], "negative": ["7", 0]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox in the snow"}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark"}},
    }
    info = read_info({"prompt": json.dumps(graph), "workflow": "{}"})
    assert (info.source, info.prompt, info.negative_prompt) == ("comfyui", "a fox in the snow", "watermark")
    assert info.get_int("Seed") == 42 and info.params["Sampler"] == "euler"


def test_reads_fooocus_json():
    data = {"prompt": "a red boat", "negative_prompt": "", "seed": 5, "steps": 30, "guidance_scale": 4}
    info = read_info({"parameters": json.dumps(data), "fooocus_scheme": "fooocus"})
    assert (info.source, info.prompt, info.get_int("Seed")) == ("fooocus", "a red boat", 5)


def test_our_own_chunk_rides_along_and_garbage_is_ignored():
    own = {"prompt": "a cat", "source_prompt": "a dog", "instructions": ["make it a cat"]}
    info = read_info({"parameters": format_parameters("a cat", "", {"Steps": 2, "Seed": 1, "Size": "64x64"}),
                      "diffchat": json.dumps(own)})
    assert info.source == "diffchat" and info.diffchat["source_prompt"] == "a dog"
    assert read_info({}) is None
    assert read_info({"prompt": "not json"}) is None
    assert read_info({"diffchat": "{broken"}) is None
