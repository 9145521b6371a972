"""Rendering from the CLI on the tiny pipeline: edit --render, render, info, --image, make-tiny."""

import json

from PIL import Image

from diffchat_tui.core.infotext import parse_parameters


def test_make_tiny_then_edit_render_info_and_edit_from_the_picture(cli, tmp_path):
    tiny = tmp_path / "tiny"
    made = cli("models", "make-tiny", str(tiny))
    assert made.code == 0, made.stderr
    assert (tiny / "model_index.json").is_file() and (tiny / "captioner" / "model.safetensors").is_file()

    out = tmp_path / "out.png"
    run = cli("edit", "a cat on a sofa", "-i", "make it cyberpunk at night", "--image-model", str(tiny),
              "--render", str(out), "--seed", "7")
    assert run.code == 0, run.stderr
    target = run.stdout.strip()
    with Image.open(out) as picture:
        info = parse_parameters(picture.info["parameters"])
    assert info.prompt == target
    assert (info.get_int("Seed"), info.get_int("Steps"), info.params["Size"]) == (7, 2, "64x64")

    shown = cli("info", str(out), "--json")
    data = json.loads(shown.stdout)
    assert data["prompt"] == target and data["parameters"]["Seed"] == "7"
    assert data["diffchat"]["source_prompt"] == "a cat on a sofa"
    assert "Seed" in cli("info", str(out)).stdout

    second = tmp_path / "out2.png"
    again = cli("edit", "--image", str(out), "-i", "remove the cat", "--image-model", str(tiny),
                "--render", str(second), "--json")
    assert again.code == 0, again.stderr
    record = json.loads(again.stdout)
    assert record["source"] == target  # taken from the picture's metadata
    assert record["image"] == str(second) and record["seed"] == 7  # the picture's seed, like for like
    assert "source prompt from metadata" in again.stderr
    with Image.open(second) as picture:
        assert parse_parameters(picture.info["parameters"]).params["Denoising strength"] == "0.5"


def test_render_command_and_no_metadata(cli, tiny_models, tmp_path):
    out = tmp_path / "r.png"
    run = cli("render", "a lighthouse at dusk", "-o", str(out), "--image-model", str(tiny_models["image"]),
              "--steps", "3", "--size", "64x96", "--sampler", "Euler a", "--json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["steps"], data["size"], data["sampler"]) == (3, [64, 96], "Euler a")
    assert Image.open(out).size == (64, 96)
    bare = tmp_path / "bare.png"
    assert cli("render", "a lighthouse", "-o", str(bare), "--image-model", str(tiny_models["image"]),
               "--no-metadata").code == 0
    assert "parameters" not in Image.open(bare).info
    assert cli("info", str(bare)).code == 2


def test_a_picture_without_metadata_is_captioned(cli, tiny_models, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 40), "orange").save(photo)
    run = cli("edit", "--image", str(photo), "-i", "make it night", "--caption-model",
              str(tiny_models["captioner"]), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["source"]
    assert f"caption:{tiny_models['captioner']}" in run.stderr


def test_no_image_model_still_prints_the_prompt(cli, tmp_path):
    run = cli("edit", "a cat", "-i", "add a hat", "--render", str(tmp_path / "x.png"),
              "--image-model", "someone/not-downloaded")
    assert run.code == 1
    assert run.stdout.strip()  # the prompt-only result
    assert run.stderr_lines == [
        "diffchat: error: no image model: someone/not-downloaded is not downloaded and could not be fetched; "
        "try `diffchat models make-tiny DIR` and --image-model DIR, or go online once"
    ]
    assert not (tmp_path / "x.png").exists()


def one_line_exit_2(run, fragment):
    assert run.code == 2, (run.stdout, run.stderr)
    assert len(run.stderr_lines) == 1 and fragment in run.stderr, run.stderr


def test_bad_image_input_is_exit_2(cli, tiny_models, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_text("hello")
    model = ["--image-model", str(tiny_models["image"])]
    one_line_exit_2(cli("edit", "--image", str(junk), "-i", "x"), "is not an image")
    one_line_exit_2(cli("edit", "--image", str(tmp_path / "none.png"), "-i", "x"), "image not found")
    one_line_exit_2(cli("edit", "a cat", "--image", str(junk), "-i", "x"), "not both")
    one_line_exit_2(cli("info", str(junk)), "is not an image")
    one_line_exit_2(cli("render", "a cat", "-o", str(tmp_path / "a.png"), "--size", "64by64", *model), "--size")
    one_line_exit_2(cli("render", "a cat", "-o", str(tmp_path / "a.jpg"), *model), "name it .png")
    one_line_exit_2(cli("render", "a cat", "-o", str(tmp_path / "no" / "a.png"), *model), "does not exist")
    one_line_exit_2(cli("render", "a cat", "-o", str(tmp_path / "a.png"), "--sampler", "Nope", *model), "unknown sampler")
    one_line_exit_2(cli("models", "make-tiny", str(tmp_path)), "is not empty")


def test_show_draws_nothing_when_stdout_is_not_a_terminal(cli, tiny_models, tmp_path):
    run = cli("render", "a cat", "-o", str(tmp_path / "s.png"), "--image-model", str(tiny_models["image"]), "--show")
    assert run.code == 0 and run.stdout.strip() == str(tmp_path / "s.png")
