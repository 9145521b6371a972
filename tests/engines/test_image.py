"""Real diffusers on the tiny random-weight pipeline."""

import threading

import numpy as np
import pytest
from PIL import Image

from diffchat_tui.core.errors import BadInput, ModelError
from diffchat_tui.core.tool_metadata import read_info
from diffchat_tui.engines.caption import Captioner, prompt_from_image
from diffchat_tui.engines.image import RenderCancelled, RenderRequest
from diffchat_tui.engines.image_diffusers import DiffusersEngine
from diffchat_tui.engines.image_files import open_image, save_png


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def test_txt2img_uses_the_folders_defaults_and_is_reproducible(tiny_engine):
    first = tiny_engine.render(RenderRequest("a cat on a sofa", seed=7))
    assert first.image.size == (64, 64)
    assert (first.request.steps, first.request.cfg_scale) == (2, 0.0)
    assert first.sampler == "Euler" and first.extra["rng"] == "CPU"
    again = tiny_engine.render(RenderRequest("a cat on a sofa", seed=7))
    other = tiny_engine.render(RenderRequest("a cat on a sofa", seed=8))
    assert (pixels(first.image) == pixels(again.image)).all()
    assert (pixels(first.image) != pixels(other.image)).any()


def test_img2img_shares_the_weights_and_follows_strength(tiny_engine):
    assert tiny_engine._img2img.unet is tiny_engine._txt2img.unet
    start = tiny_engine.render(RenderRequest("a house", seed=1, width=64, height=64)).image
    light = tiny_engine.render(RenderRequest("a house", seed=2, init_image=start, strength=0.3, steps=10)).image
    heavy = tiny_engine.render(RenderRequest("a house", seed=2, init_image=start, strength=1.0, steps=10)).image
    drift = lambda image: np.abs(pixels(image) - pixels(start)).mean()  # noqa: E731
    assert drift(light) < drift(heavy)


def test_progress_reports_each_step_and_cancel_stops(tiny_engine):
    seen = []
    tiny_engine.render(RenderRequest("a tree", steps=3), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RenderCancelled):
        tiny_engine.render(RenderRequest("a tree", steps=3), cancel=cancel)


def test_a_cpu_render_holds_its_cores_while_it_runs_so_an_edit_meanwhile_counts_them_as_load(tiny_engine):
    import torch

    from diffchat_tui.engines.cpu_share import held_cores

    held = []
    tiny_engine.render(RenderRequest("a tree", steps=2), progress=lambda done, total: held.append(held_cores()))
    assert held == [torch.get_num_threads()] * 2 and held_cores() == 0
    cancel = threading.Event()
    with pytest.raises(RenderCancelled):
        tiny_engine.render(RenderRequest("a tree", steps=3), progress=lambda done, total: cancel.set(), cancel=cancel)
    assert held_cores() == 0  # given back when a render stops early too


def test_samplers_by_a1111_name(tiny_engine):
    assert tiny_engine.render(RenderRequest("a tree", sampler="DPM++ 2M Karras")).sampler == "DPM++ 2M Karras"
    with pytest.raises(BadInput, match="unknown sampler 'Euler b'"):
        tiny_engine.render(RenderRequest("a tree", sampler="Euler b"))


def test_unreachable_models_are_one_line_errors(tmp_path):
    with pytest.raises(ModelError, match="no image model: someone/missing-model is not downloaded and could not be fetched") as info:
        DiffusersEngine("someone/missing-model", device="cpu").load()
    assert "\n" not in str(info.value)
    with pytest.raises(ModelError, match="not a diffusers model folder"):
        DiffusersEngine(str(tmp_path), device="cpu").load()
    with pytest.raises(ModelError, match="image model file not found"):
        DiffusersEngine(str(tmp_path / "model.safetensors"), device="cpu").load()


def test_png_metadata_round_trips_including_non_latin1(tiny_engine, tmp_path):
    result = tiny_engine.render(RenderRequest("un chat sur un canapé, 東京の夜", negative_prompt="blurry", seed=3))
    path = save_png(result, tmp_path / "out.png", diffchat={"source_prompt": "un chat"})
    image, chunks = open_image(path)
    info = read_info(chunks)
    assert info.prompt == "un chat sur un canapé, 東京の夜" and info.negative_prompt == "blurry"
    assert (info.get_int("Seed"), info.get_int("Steps"), info.params["Size"]) == (3, 2, "64x64")
    assert info.diffchat["source_prompt"] == "un chat" and "diffusers" in info.diffchat["versions"]
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed, not left behind
    bare = save_png(result, tmp_path / "bare.png", metadata=False)
    assert read_info(open_image(bare)[1]) is None


def test_prompt_from_image_prefers_metadata_then_captions(tiny_engine, tiny_models, tmp_path):
    result = tiny_engine.render(RenderRequest("a red barn", seed=11))
    with_meta = save_png(result, tmp_path / "meta.png")
    broken_captioner = Captioner(str(tmp_path / "no-captioner"))
    found = prompt_from_image(with_meta, broken_captioner)  # metadata wins: the captioner is never loaded
    assert (found.prompt, found.how, found.seed) == ("a red barn", "metadata:diffchat", 11)

    plain = tmp_path / "photo.png"
    Image.new("RGB", (48, 48), "navy").save(plain)
    captioned = prompt_from_image(plain, Captioner(str(tiny_models["captioner"])))
    assert captioned.how.startswith("caption:") and captioned.prompt
    with pytest.raises(ModelError, match="no captioning model"):
        prompt_from_image(plain, broken_captioner)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "image not found"), (b"not an image at all", "is not an image"), ("truncated", "cannot read image")],
)
def test_bad_image_files_are_bad_input(tmp_path, content, fragment):
    path = tmp_path / "bad.png"
    if content == "truncated":
        Image.effect_noise((256, 256), 60).save(path)
        path.write_bytes(path.read_bytes()[:2000])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(BadInput, match=fragment):
        open_image(path)
