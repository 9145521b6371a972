"""An OpenAI-compatible chat server (llama-server, vLLM, Ollama) through the openai client, streaming."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.text import first_line
from diffchat_tui.engines.llm import ContextOverflow

# What the openai client raises on an answer that is not the API's: a web page, bytes that are not UTF-8,
# an SSE event cut in half. None of it is a crash; all of it means "this is not an OpenAI server".
NOT_THE_API = (ValueError, AttributeError, TypeError, KeyError, IndexError)
CONNECT_TIMEOUT_S = 5.0


class OpenAIHTTPEngine:
    """Streams chat completions from a server; the server owns the model and its prompt template.

    Nothing is retried: a server that fails or stays silent for `timeout` seconds gets one line, at once.
    """

    declared_format: str | None = None

    def __init__(self, url: str, *, model: str | None = None, timeout: float = 60.0) -> None:
        base = url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else f"{base}/v1"
        self.model = model
        self.name = f"{model or 'default'}@{url}"
        self.timeout = timeout
        self._client = None

    def load(self) -> float:
        """Connect, and ask the server for its model when none was named."""
        if self._client is not None:
            return 0.0
        import openai

        started = time.perf_counter()
        # Local servers ignore the key, but the client insists on having one. `timeout` bounds each wait for
        # bytes (the first token included), so a silent server is given up on, not waited for.
        timeout = openai.Timeout(self.timeout, connect=min(CONNECT_TIMEOUT_S, self.timeout))
        client = openai.OpenAI(base_url=self.base_url, api_key="not-needed", timeout=timeout, max_retries=0)
        try:
            served = [entry.id for entry in client.models.list()]
        except openai.APITimeoutError:
            raise ModelError(f"the server at {self.base_url} did not answer within {self.timeout:g} s") from None
        except openai.OpenAIError as exc:
            raise ModelError(f"no OpenAI-compatible server at {self.base_url}: {first_line(exc)}") from None
        except NOT_THE_API as exc:
            raise ModelError(f"{self.base_url} does not answer like an OpenAI-compatible server ({type(exc).__name__})") from None
        served = [name for name in served if isinstance(name, str)]
        if self.model is None:
            if not served:
                raise ModelError(f"the server at {self.base_url} serves no model")
            self.model = served[0]
        self._client = client
        return time.perf_counter() - started

    def prime(self, prefix: list[dict[str, str]]) -> None:
        """Nothing to do: the server manages its own prompt cache."""

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float,
        seed: int,
        max_tokens: int,
        stop: list[str],
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        import openai

        self.load()
        try:
            chunks = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens,
                stop=stop,
                stream=True,
            )
            with chunks:
                for chunk in chunks:
                    if cancel is not None and cancel.is_set():
                        return
                    piece = chunk.choices[0].delta.content if chunk.choices else None
                    if piece:
                        yield piece
        except openai.BadRequestError as exc:
            if "context" in str(exc).lower():
                raise ContextOverflow(str(exc)) from None
            raise ModelError(f"the server refused the request: {first_line(exc)}") from None
        except openai.APITimeoutError:
            raise ModelError(f"the server at {self.base_url} went silent for {self.timeout:g} s") from None
        except openai.OpenAIError as exc:
            raise ModelError(f"lost the server at {self.base_url}: {first_line(exc)}") from None
        except NOT_THE_API as exc:
            raise ModelError(f"{self.base_url} sent something that is not an OpenAI answer ({type(exc).__name__})") from None
