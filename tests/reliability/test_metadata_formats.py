"""Items 10-11: `diffchat info --json` reads prompt, negative prompt and seed from every major SD tool's pictures."""

from __future__ import annotations

import json

import pytest

from diffchat_tui.core.tool_metadata import comfyui
from tests.reliability.conftest import assert_one_line_error
from tests.reliability.pictures import COMFY_GRAPHS, FORMATS, NEGATIVE, PROMPT, SEED


@pytest.mark.parametrize("name", list(FORMATS))
def test_info_json_reads_each_format(cli, tmp_path, name):
    kind = FORMATS[name]
    picture = kind.write(tmp_path / f"picture{kind.suffix}")
    run = cli("info", str(picture), "--json")
    assert run.code == 0, run.stderr
    found = json.loads(run.stdout)
    assert (found["format"], found["prompt"], found["negative_prompt"], found["seed"]) == (kind.source, kind.prompt, NEGATIVE, SEED)
    assert found["parameters"]["Seed"] == str(SEED)  # the old field stays where it was


def test_a1111_quoting_keeps_a_model_name_with_a_comma(cli, tmp_path):
    picture = FORMATS["a1111-png"].write(tmp_path / "a.png")
    found = json.loads(cli("info", str(picture), "--json").stdout)
    assert found["parameters"]["Model"] == "v1-5, pruned"  # sd-parsers would cut it at the comma


def test_comfyui_tries_every_sampler_and_survives_hostile_graphs():
    graph = COMFY_GRAPHS["plain"] | {"1": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["99", 0]}}}
    graph = {"1": graph.pop("1"), **graph}  # a first sampler whose positive leads nowhere
    assert comfyui(json.dumps(graph)).prompt == PROMPT
    cycle = {"1": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["2", 0], "negative": ["2", 0]}},
             "2": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["3", 0], "conditioning_2": ["2", 0]}},
             "3": {"class_type": "ConditioningSetArea", "inputs": {"conditioning": ["2", 0]}}}  # fmt: skip
    assert comfyui(json.dumps(cycle)) is None
    odd = {"1": [1, 2], "2": "text", "3": {"inputs": [1]}, "4": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["2", 0]}}}
    assert comfyui(json.dumps(odd)) is None
    deep = {str(n): {"class_type": "ConditioningSetArea", "inputs": {"conditioning": [str(n + 1), 0]}} for n in range(1, 20000)}
    deep["0"] = {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["1", 0]}}
    assert comfyui(json.dumps(deep)) is None  # bounded, no RecursionError


def test_a_cyclic_comfyui_picture_is_one_line(cli, tmp_path):
    from tests.reliability.pictures import comfyui as write

    cycle = {"1": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["1", 0]}}, "2": "not a node"}
    run = cli("info", str(write(tmp_path / "c.png", cycle)))
    assert_one_line_error(run, says="carries no generation metadata")


def test_a_cameras_user_comment_is_not_taken_for_a_prompt():
    from diffchat_tui.core.tool_metadata import USER_COMMENT, read_info

    assert read_info({USER_COMMENT: "Holiday at the sea"}) is None
