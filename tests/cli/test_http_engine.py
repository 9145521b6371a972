"""`--llm-url` against a real OpenAI-compatible server: llama-cpp-python's own, on loopback."""

import json
import socket
import subprocess
import sys
import time

import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(embedded_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_path), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--verbose", "false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=1):
                    break
            except OSError:  # refused while the server starts
                pass
            assert proc.poll() is None, "the llama.cpp server exited"
            assert time.monotonic() < deadline, "the llama.cpp server did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
