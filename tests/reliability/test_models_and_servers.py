"""Items 1 and 4: a --lora that is not an adapter for the model, and an --llm-url that is not an OpenAI server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from diffchat_tui.engines.models import resolve_llm, shipped_adapter
from tests.reliability.conftest import assert_one_line_error
from tests.reliability.fake_servers import fake_server, silent_socket


def bad_adapters(tmp_path: Path, embedded_path: Path) -> dict[str, Path]:
    adapter = shipped_adapter()
    assert adapter is not None
    data = adapter.read_bytes()
    files = {
        "the base model": embedded_path,
        "GGUF + random bytes": tmp_path / "random.gguf",
        "a truncated adapter": tmp_path / "truncated.gguf",
        "a truncated header": tmp_path / "header.gguf",
    }
    files["GGUF + random bytes"].write_bytes(b"GGUF" + bytes(range(256)) * 64)
    files["a truncated adapter"].write_bytes(data[: len(data) * 9 // 10])
    files["a truncated header"].write_bytes(data[:3000])
    return files


@pytest.mark.parametrize("which", ["the base model", "GGUF + random bytes", "a truncated adapter", "a truncated header"])
def test_a_lora_that_is_not_an_adapter_is_one_line_not_a_segfault(cli, tmp_path, embedded_path, which):
    adapter = bad_adapters(tmp_path, embedded_path)[which]
    run = cli("edit", "a cat", "-i", "add a hat", "--model", "base", "--lora", str(adapter))
    assert_one_line_error(run, says=str(adapter))


def test_the_shipped_adapter_still_passes_the_check():
    assert resolve_llm("embedded", merge=False).lora == shipped_adapter()


@pytest.mark.parametrize("fault", ["html", "garbage", "broken-sse"])
def test_a_server_that_is_not_openai_is_one_line(cli, fault):
    with fake_server(fault) as url:
        run = cli("edit", "a cat", "-i", "add a hat", "--llm-url", url, timeout=60)
    assert_one_line_error(run, says=url)


@pytest.mark.parametrize("where", ["listing models", "answering"])
def test_a_silent_server_is_given_up_on_after_the_timeout_once(cli, where):
    server = silent_socket() if where == "listing models" else fake_server("slow-chat", slow_s=30)
    with server as url:
        started = time.monotonic()
        run = cli("edit", "a cat", "-i", "add a hat", "--llm-url", url, env={"DIFFCHAT_LLM__URL_TIMEOUT": "1"}, timeout=60)
    assert_one_line_error(run, says="1 s")
    assert time.monotonic() - started < 15  # one try, not four
