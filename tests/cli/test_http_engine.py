"""`--llm-url` against a real OpenAI-compatible server: llama-cpp-python's own, on loopback."""

import json

from tests.conftest import free_port


def test_edit_through_a_server_streams_a_clean_target(cli, server_url):
    run = cli("edit", "a cat on a sofa", "-i", "make it cyberpunk at night", "-i", "add rain", "--json",
              "--llm-url", server_url)
    assert run.code == 0, run.stderr
    first, second = [json.loads(line) for line in run.stdout.splitlines()]
    assert first["target"] and second["target"] and "\n" not in second["target"]
    assert first["model"].endswith(f"@{server_url}")
    assert first["timings"]["tokens"] > 0


def test_an_unreachable_server_is_one_line_exit_2(cli):
    run = cli("edit", "a cat", "-i", "add a hat", "--llm-url", f"http://127.0.0.1:{free_port()}")
    assert run.code == 2 and len(run.stderr_lines) == 1
    assert "no OpenAI-compatible server at" in run.stderr
