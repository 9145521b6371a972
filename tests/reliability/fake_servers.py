"""Servers on 127.0.0.1 that are not what --llm-url expects: they inject faults, nothing else.

Each answers GET /v1/models and POST /v1/chat/completions with one kind of wrong answer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = b'{"object": "list", "data": [{"id": "fake", "object": "model"}]}'
BROKEN_SSE = b'data: {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "a c'

FAULTS = {
    # a web page where the API should be
    "html": (b"text/html", b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>", b"<html>not json</html>"),
    # bytes that are neither UTF-8 nor JSON
    "garbage": (b"application/json", bytes(range(128, 256)) * 4, bytes(range(128, 256)) * 4),
    # a real model list, then a stream cut in the middle of a JSON event
    "broken-sse": (b"application/json", MODELS, BROKEN_SSE + b"\n\ndata: {not json at all\n\n"),
    # a real model list, then a chat answer that never comes (see slow_s)
    "slow-chat": (b"application/json", MODELS, b""),
}


class _Handler(BaseHTTPRequestHandler):
    fault = "html"
    slow_s = 0.0

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, body: bytes, content_type: bytes, chat: bool = False) -> None:
        if self.slow_s and (chat or self.fault != "slow-chat"):
            time.sleep(self.slow_s)  # headers never come: a server that answers slowly with nothing
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type.decode())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        content_type, models, _ = FAULTS.get(self.fault, FAULTS["html"])
        self._answer(models, content_type)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        content_type, _, chat = FAULTS.get(self.fault, FAULTS["html"])
        self._answer(chat, b"text/event-stream" if self.fault == "broken-sse" else content_type, chat=True)


@contextmanager
def fake_server(fault: str, slow_s: float = 0.0) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"fault": fault, "slow_s": slow_s})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_socket() -> Iterator[str]:
    """Accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        listener.close()
