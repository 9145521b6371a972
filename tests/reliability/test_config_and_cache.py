"""Item 6 (settings that cannot be read), item 9 (the KV prefix cache on a full disk), and the minor items."""

from __future__ import annotations

import json
import tomllib

import llama_cpp
import pytest

from diffchat_tui.engines.caption import prompt_from_image
from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from diffchat_tui.engines.models import resolve_llm
from tests.reliability.conftest import assert_one_line_error, fill, tmpfs
from tests.reliability.pictures import _png

PREFIX = [{"role": "system", "content": "You rewrite Stable Diffusion prompts. " * 20}]


def config(temp_home, data: bytes | None = None, folder: bool = False):
    path = temp_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.mkdir() if folder else path.write_bytes(data)


def test_a_config_that_is_not_utf8_is_one_line(cli, temp_home):
    config(temp_home, b'[llm]\nmodel = "caf\xe9"\n')
    assert_one_line_error(cli("config", "show"), says="not valid UTF-8")


def test_a_config_that_is_a_folder_is_one_line(cli, temp_home):
    config(temp_home, folder=True)
    assert_one_line_error(cli("edit", "a cat", "-i", "add a hat"), says="is not a file")


@pytest.mark.parametrize("keys, says", [('undo = "ctrl+foo"', "is not a key"), ('undoo = "f5"', "no key has the id")])
def test_bad_ui_keys_are_one_line(cli, temp_home, keys, says):
    config(temp_home, f"[ui.keys]\n{keys}\n".encode())
    assert_one_line_error(cli(), says=says)


def test_config_show_prints_toml(cli, temp_home):
    config(temp_home, b'[ui.keys]\nundo = "f5"\n"use-edited-prompt" = "ctrl+k"\n')
    run = cli("config", "show")
    assert run.code == 0, run.stderr
    shown = tomllib.loads(run.stdout)
    assert shown["ui"]["keys"] == {"undo": "f5", "use-edited-prompt": "ctrl+k"} and shown["llm"]["model"] == "embedded"


def test_the_prefix_cache_leaves_no_temp_file_on_a_full_disk(tmp_path, monkeypatch):
    with tmpfs(tmp_path / "home", size="64k") as home:
        monkeypatch.setenv("DIFFCHAT_HOME", str(home))
        fill(home)
        engine = LlamaCppEngine(resolve_llm("base"), n_threads=1)
        engine.prime(PREFIX)  # the state does not fit: never an error, never a leftover
        assert not list(home.rglob("*.tmp"))
        assert engine.complete([*PREFIX, {"role": "user", "content": "a cat"}], temperature=0, seed=0, max_tokens=4, stop=[])
        engine.unload()


def test_a_failed_state_save_leaves_no_temp_file(temp_home, monkeypatch):
    real_save = llama_cpp.llama_state_save_file

    def half_written(ctx, path, tokens, count):  # the fault: part of the file written, then failure
        real_save(ctx, path, tokens, count)
        return False

    monkeypatch.setattr(llama_cpp, "llama_state_save_file", half_written)
    engine = LlamaCppEngine(resolve_llm("base"), n_threads=1)
    engine.prime(PREFIX)
    engine.unload()
    assert not list((temp_home / "cache").rglob("*.tmp")) and not list((temp_home / "cache").rglob("*.bin"))


def test_a_prompt_from_metadata_is_cut_with_a_warning(tmp_path):
    picture = _png(tmp_path / "long.png", {"parameters": "a cat, " * 400 + "\nSteps: 2, Seed: 1, Size: 64x64"})
    found = prompt_from_image(picture)
    assert len(found.prompt) <= 1000 and any("too long; cut to" in warning for warning in found.warnings)


def test_info_cuts_a_huge_prompt_but_json_keeps_it(cli, tmp_path):
    picture = _png(tmp_path / "huge.png", {"parameters": "a cat " * 200_000 + "\nSteps: 2, Seed: 1, Size: 64x64"})
    run = cli("info", str(picture))
    assert run.code == 0 and len(run.stdout) < 20_000 and "more characters" in run.stdout
    assert len(json.loads(cli("info", str(picture), "--json").stdout)["prompt"]) > 1_000_000


def test_data_validate_says_characters_about_text(cli, tmp_path):
    record = {"source_prompt": "a cat", "instruction": "add a hat", "beautified_source_prompt": "a cat",
              "beautified_target_prompt": "a cat, a hat", "source_negative": "x " * 600}  # fmt: skip
    (tmp_path / "d.jsonl").write_text(json.dumps(record) + "\n")
    run = cli("data", "validate", str(tmp_path / "d.jsonl"))
    assert run.code == 2 and "longer than 1000 characters" in run.stderr and "items" not in run.stderr
