"""Every test runs against a temporary home, offline, with real models only."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before anything imports huggingface_hub: tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
# huggingface_hub reads its cache location once, at import: give the whole run an empty one.
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="diffchat-test-hub-")
atexit.register(shutil.rmtree, os.environ["HF_HUB_CACHE"], ignore_errors=True)  # one per run, left in /tmp before


@pytest.fixture(scope="session")
def built_models(tmp_path_factory) -> Path:
    """One folder of built models (the merged embedded model) for the whole run: building it takes seconds."""
    return tmp_path_factory.mktemp("built-models")


@pytest.fixture(autouse=True)
def temp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built_models: Path) -> Path:
    """A fresh DIFFCHAT_HOME per test, and no DIFFCHAT_* settings leaking in; built models are shared."""
    for name in list(os.environ):
        if name.startswith("DIFFCHAT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    (home / "cache" / "models").symlink_to(built_models, target_is_directory=True)
    monkeypatch.setenv("DIFFCHAT_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def embedded_path() -> Path:
    from diffchat_tui.engines.models import embedded_gguf

    return embedded_gguf()


@pytest.fixture(scope="session")
def llama_engine():
    """The real embedded model through real llama.cpp, loaded once for the session."""
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    engine = LlamaCppEngine(resolve_llm("embedded"))
    engine.load()
    return engine


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


@pytest.fixture
def cli(temp_home: Path):
    """Run `diffchat` as a user would: a real process, real exit code, real stdout/stderr."""

    def run(*args: str, stdin: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [sys.executable, "-m", "diffchat_tui", *args],
            input=data,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    return run


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny random-weight SD pipeline, captioner and CLIP, built once by our own code."""
    from diffchat_tui.engines.tiny import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny") / "models")


@pytest.fixture(scope="session")
def tiny_engine(tiny_models):
    from diffchat_tui.engines.image_diffusers import DiffusersEngine

    engine = DiffusersEngine(str(tiny_models["image"]), device="cpu")
    engine.load()
    return engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(embedded_path):
    """A real OpenAI-compatible server on loopback: llama-cpp-python's own, serving the embedded model."""
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
