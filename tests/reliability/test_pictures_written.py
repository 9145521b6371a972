"""Items 5, 7, 12 and 13: seeds out of range, outputs that cannot be written, what carries over from a
picture, and what our PNGs say (and do not give away)."""

from __future__ import annotations

import hashlib
import time

import pytest
from PIL import Image

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.infotext import format_parameters, parse_parameters
from diffchat_tui.core.seeds import MAX_SEED
from diffchat_tui.engines.image import RenderRequest
from diffchat_tui.engines.image_files import checkpoint_hash, public_model_name, save_png
from tests.reliability.conftest import assert_one_line_error, remount_ro, tmpfs
from tests.reliability.pictures import NEGATIVE, _png

HUGE_SEED = 2**64 + 5


def infotext(path):
    with Image.open(path) as picture:
        return parse_parameters(picture.info["parameters"]), picture.info["diffchat"]


def a1111_picture(path, seed=HUGE_SEED):
    params = {"Steps": 3, "Sampler": "DPM++ 2M", "Schedule type": "Karras", "CFG scale": 6.5, "Seed": seed, "Size": "64x64"}
    return _png(path, {"parameters": format_parameters("a lighthouse on a cliff", NEGATIVE, params)})


@pytest.mark.parametrize("command", [["edit", "a cat", "-i", "add a hat"], ["render", "a cat", "-o", "x.png"]])
@pytest.mark.parametrize("seed", [str(2**63), str(2**32), "-2"])
def test_a_seed_out_of_range_is_a_bad_flag(cli, command, seed):
    assert_one_line_error(cli(*command, "--seed", seed), says="--seed")


def test_edit_image_render_carries_the_picture_over_and_reduces_its_seed(cli, tmp_path, tiny_models):
    picture = a1111_picture(tmp_path / "in.png")
    out = tmp_path / "out.png"
    run = cli("edit", "--image", str(picture), "-i", "make it night", "--render", str(out), "--image-model", str(tiny_models["image"]))
    assert run.code == 0, run.stderr
    assert run.stdout.strip() and "modulo 2^32" in run.stderr
    written, _ = infotext(out)
    assert written.params["Seed"] == str(HUGE_SEED % 2**32)
    assert (written.negative_prompt, written.params["Steps"], written.params["CFG scale"]) == (NEGATIVE, "3", "6.5")
    assert written.params["Sampler"] == "DPM++ 2M Karras" and written.params["Size"] == "64x64"


def test_flags_win_over_the_picture(cli, tmp_path, tiny_models):
    picture = a1111_picture(tmp_path / "in.png", seed=7)
    out = tmp_path / "out.png"
    run = cli("edit", "--image", str(picture), "-i", "make it night", "--render", str(out), "--image-model", str(tiny_models["image"]),
              "--steps", "2", "--negative", "text", "--sampler", "Euler")  # fmt: skip
    assert run.code == 0, run.stderr
    written, _ = infotext(out)
    assert (written.negative_prompt, written.params["Steps"], written.params["Sampler"], written.params["Seed"]) == ("text", "2", "Euler", "7")


def test_render_writes_a_concrete_seed_clean_text_and_no_local_paths(cli, tmp_path, tiny_models):
    out = tmp_path / "out.png"
    run = cli("render", "a cat\nBREAK\na dog", "-o", str(out), "--seed", "-1", "--negative", "ugly\x1b]0;pwned\x07, blurry",
              "--image-model", str(tiny_models["image"]))  # fmt: skip
    assert run.code == 0, run.stderr
    assert "--negative: removed control or escape characters" in run.stderr
    written, own = infotext(out)
    assert 0 <= int(written.params["Seed"]) <= MAX_SEED
    assert written.prompt == "a cat\nBREAK\na dog" and written.negative_prompt == "ugly, blurry"
    assert written.params["Model"] == tiny_models["image"].name and str(tmp_path.parent) not in own


def test_render_warns_when_it_strips_escapes(cli, tmp_path, tiny_models):
    run = cli("render", "a cat\x1b[2J", "-o", str(tmp_path / "o.png"), "--image-model", str(tiny_models["image"]))
    assert run.code == 0 and "prompt: removed control or escape characters" in run.stderr


def test_model_hash_is_a1111s_short_sha256_of_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "my model.safetensors"
    checkpoint.write_bytes(b"not really weights" * 1000)
    assert checkpoint_hash(str(checkpoint)) == hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:10]
    assert public_model_name(str(checkpoint)) == "my model"
    assert checkpoint_hash("stabilityai/sd-turbo") is None and public_model_name("stabilityai/sd-turbo") == "stabilityai/sd-turbo"


@pytest.mark.parametrize("command", [["render", "a cat", "-o"], ["edit", "a cat", "-i", "add a hat", "--render"]])
def test_a_missing_output_folder_is_refused_before_any_model_loads(cli, tmp_path, command):
    started = time.monotonic()
    run = cli(*command, str(tmp_path / "missing" / "x.png"), "--image-model", str(tmp_path / "no-such-model"))
    assert_one_line_error(run, says="does not exist")
    assert time.monotonic() - started < 20  # no model was loaded, no edit was made


def test_an_unknown_sampler_is_refused_before_the_pipeline_loads(cli, tmp_path):
    run = cli("render", "a cat", "-o", str(tmp_path / "x.png"), "--sampler", "Bogus", "--image-model", str(tmp_path / "no-such-model"))
    assert_one_line_error(run, says="unknown sampler")


def test_render_onto_a_read_only_filesystem_is_one_line(cli, tmp_path, tiny_models, tiny_engine):
    with tmpfs(tmp_path / "ro") as folder:
        remount_ro(folder)
        run = cli("render", "a cat", "-o", str(folder / "x.png"), "--image-model", str(tiny_models["image"]))
        assert_one_line_error(run, says="Read-only file system")
        # and when the filesystem turns read-only after the check: the clean-up's own error hides nothing
        result = tiny_engine.render(RenderRequest("a cat", steps=1))
        with pytest.raises(BadInput, match="Read-only file system") as caught:
            save_png(result, folder / "x.png")
        assert caught.value.__suppress_context__ and "\n" not in str(caught.value)  # one error, not two chained
        assert list(folder.iterdir()) == []


def test_the_tuis_next_seed_is_always_in_range():
    from diffchat_tui.core.seeds import next_render_seed

    assert next_render_seed(7, locked=True) == (7, None)
    assert 0 <= next_render_seed(-1, locked=True)[0] <= MAX_SEED
    seed, warning = next_render_seed(HUGE_SEED, locked=True)
    assert seed == HUGE_SEED % 2**32 and "modulo" in warning
