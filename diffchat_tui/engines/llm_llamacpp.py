"""llama.cpp in-process through llama-cpp-python: GGUF, LoRA adapters, GPU offload."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from diffchat_tui import paths
from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY
from diffchat_tui.engines.cpu_share import held_cores
from diffchat_tui.engines.llm import ContextOverflow
from diffchat_tui.engines.models import ResolvedModel, read_gguf_string

SMALL_MODEL_BYTES = 400_000_000
"""Below this a model's step is too short to share among all cores (SmolLM2-135M decodes 145 vs 147 tok/s on 1 and 2
cores of one kind of Xeon, 45 vs 72 on another: see small_model_decode_threads)."""


def default_threads() -> int:
    """Every core we may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def model_threads(model_bytes: int, cores: int) -> int:
    """llama.cpp threads: one for a small model, every core for a big one.

    A small model's step is too short to share: extra threads mostly wait at llama.cpp's OpenMP barriers,
    spinning, and one descheduled thread stalls the others. Measured on 2 cores with the embedded model
    (benchmarks/bench_edit.py): an edit takes 0.66 s idle on 1 thread or 2; beside a CPU render 1.03 s on
    1 thread against 1.70-3.5 s on 2; beside one busy process per core 1.00 s against 1.35-1.6 s. Prefill
    is the one thing two threads do faster (949 vs 550 tok/s): batch_threads gives it the idle cores, and
    small_model_decode_threads a second decode thread while a core is idle.
    """
    return 1 if model_bytes < SMALL_MODEL_BYTES else cores


def idle_cores(cores: int, loadavg: str = "/proc/loadavg", own_threads: str = "/proc/self/task") -> int | None:
    """Cores that no other process's runnable thread, and no render of ours, wants right now.

    From the kernel's count of runnable threads. Our own runnable threads are left out: llama.cpp's workers
    spin for a while after a request, and would otherwise count as load on the next turn. A CPU render in
    this process counts the cores it holds (cpu_share). None where /proc/loadavg is missing (macOS,
    Windows). Inside a container it counts the host's threads, which can only make it too low: the safe side.
    """
    try:
        with open(loadavg) as file:
            running = int(file.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(0, cores - running + _running_threads(own_threads) - held_cores())


def _running_threads(tasks: str) -> int:
    """How many of a process's threads are runnable (state R in /proc/PID/task/TID/stat)."""
    count = 0
    for stat in Path(tasks).glob("*/stat"):
        with contextlib.suppress(OSError, IndexError):
            count += stat.read_text().rpartition(")")[2].split()[0] == "R"
    return count


def batch_threads(decode_threads: int, cores: int, idle: int | None) -> int:
    """Threads for a multi-token batch (the prompt's prefill): the decode threads plus every idle core.

    Prefill is the one step of a small model that two threads do faster, and only on idle cores. A long
    prompt's `diffchat edit` on 2 cores, prefill threads fixed, median of 7: 0.85 s on 1 thread against
    0.73 s on 2 when idle; beside one busy process per core 1.25 s against 1.63 s, and 3 to 8 s in 3 runs.
    """
    return min(cores, decode_threads + (idle or 0))


def small_model_decode_threads(cores: int, idle: int | None) -> int:
    """Threads for a small model's decode: a second one while a core is idle, never more.

    Whether two threads decode faster depends on the CPU: as fast as one on one kind of 2-core Xeon, 1.6x
    on another (SmolLM2-135M Q4_1: 45 against 72 tok/s), where it brings `diffchat edit` from 1.22x to
    1.04-1.07x the bare script (benchmarks/bench_edit.py). Busy cores keep it on one, where two would spin at
    llama.cpp's barriers; more than two is not measured.
    """
    return min(cores, 2) if idle else 1


class LlamaCppEngine:
    """One model loaded once and kept warm; the KV cache carries over between calls."""

    def __init__(
        self,
        model: ResolvedModel,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        prefix_cache: bool = True,
    ) -> None:
        self.model = model
        self.name = model.name
        self.n_ctx = n_ctx
        size = model.path.stat().st_size + (model.lora.stat().st_size if model.lora else 0)
        self.n_threads = n_threads or model_threads(size, default_threads())
        self.adapt_batch_threads = n_threads is None
        """Pick the prefill threads per request from the cores idle then; a user's n_threads is used as it is."""
        self.n_gpu_layers = n_gpu_layers
        self.prefix_cache = prefix_cache
        self.declared_format: str | None = None
        self._llama = None

    def load(self) -> float:
        if self._llama is not None:
            return 0.0
        started = time.perf_counter()
        import llama_cpp

        offload = self.n_gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(self.model.path),
                lora_path=str(self.model.lora) if self.model.lora else None,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_gpu_layers=offload,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            what = f"{self.model.path}" + (f" with adapter {self.model.lora}" if self.model.lora else "")
            raise ModelError(f"llama.cpp cannot load {what}: {exc}") from None
        declared = self._llama.metadata.get(FORMAT_METADATA_KEY)
        if self.model.lora is not None:
            declared = read_gguf_string(self.model.lora, FORMAT_METADATA_KEY) or declared
        self.declared_format = declared
        return time.perf_counter() - started

    def _load_for_request(self) -> None:
        """Load, and give this request's prefill every core idle right now, and its decode one of them."""
        self.load()
        if self.adapt_batch_threads:
            import llama_cpp

            cores = default_threads()
            idle = idle_cores(cores)
            decode = small_model_decode_threads(cores, idle) if self.n_threads == 1 else self.n_threads
            llama_cpp.llama_set_n_threads(self._llama.ctx, decode, batch_threads(self.n_threads, cores, idle))

    def unload(self) -> None:
        """Free the model and its KV cache now (RL does, before training needs the memory); load() brings it back."""
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    @property
    def cached_tokens(self) -> int:
        """How many prompt tokens the KV cache holds (0 before load)."""
        return self._llama.n_tokens if self._llama is not None else 0

    @property
    def threads(self) -> tuple[int, int]:
        """The threads the last request ran on: (decode, prefill batch); (0, 0) before load."""
        if self._llama is None:
            return 0, 0
        import llama_cpp

        return llama_cpp.llama_n_threads(self._llama.ctx), llama_cpp.llama_n_threads_batch(self._llama.ctx)

    @property
    def offloaded_layers(self) -> int:
        """The n_gpu_layers llama.cpp was loaded with: -1 is every layer, 0 no GPU support (or not loaded)."""
        return self._llama.model_params.n_gpu_layers if self._llama is not None else 0

    def tokenize(self, text: str) -> list[int]:
        """The model's token ids for plain text: no BOS, special-token names read as text."""
        self.load()
        return self._llama.tokenize(text.encode(), add_bos=False, special=False)

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float,
        seed: int,
        max_tokens: int,
        stop: list[str],
        logit_bias: dict[int, float] | None = None,
    ) -> str:
        """The whole answer at once; logit_bias adds to the logits of those token ids (RL's action spaces)."""
        self._load_for_request()
        answer = self._llama.create_chat_completion(
            messages=messages, temperature=temperature, seed=seed, max_tokens=max_tokens, stop=stop, logit_bias=logit_bias
        )
        return answer["choices"][0]["message"].get("content") or ""

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
        self._load_for_request()
        try:
            chunks = self._llama.create_chat_completion(
                messages=messages,
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens,
                stop=stop,
                stream=True,
            )
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    chunks.close()
                    return
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except ValueError as exc:
            if "exceed context window" in str(exc):
                raise ContextOverflow(str(exc)) from None
            raise

    def prime(self, prefix: list[dict[str, str]]) -> None:
        """Restore the KV state of the fixed prompt prefix from disk, or compute and save it.

        Later processes then skip the prefix's prefill (the few-shot examples are most of a request).
        """
        import hashlib

        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._load_for_request()
        llama = self._llama
        if not self.prefix_cache:
            return
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            return
        text = Jinja2ChatFormatter(template, eos_token="", bos_token="", add_generation_prompt=False)(messages=prefix).prompt
        tokens = llama.tokenize(text.encode(), add_bos=False, special=True)
        if llama.n_tokens >= len(tokens) and list(llama.input_ids[: len(tokens)]) == tokens:
            return  # this process already holds the prefix
        llama.reset()
        model_files = [self.model.path, self.model.lora] if self.model.lora else [self.model.path]
        identity = [llama_cpp.__version__, text, self.n_ctx] + [(str(p), p.stat().st_size, p.stat().st_mtime) for p in model_files]
        key = hashlib.sha256(repr(identity).encode()).hexdigest()[:24]
        state_file = paths.cache_dir() / "kv" / f"prefix-{key}.bin"
        if state_file.is_file():
            loaded = (llama_cpp.llama_token * self.n_ctx)()
            count = ctypes.c_size_t(0)
            ok = llama_cpp.llama_state_load_file(
                llama.ctx, str(state_file).encode(), loaded, self.n_ctx, ctypes.byref(count)
            )
            if ok and list(loaded[: count.value]) == tokens:
                llama.input_ids[: count.value] = tokens
                llama.n_tokens = count.value
                return
            llama.reset()  # a stale or corrupt file: recompute it below
        llama.eval(tokens)
        partial = state_file.with_suffix(f".{os.getpid()}.tmp")
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        try:  # only a cache: a full or read-only disk costs the next process a prefill, never this edit
            state_file.parent.mkdir(parents=True, exist_ok=True)
            if llama_cpp.llama_state_save_file(llama.ctx, str(partial).encode(), array, len(tokens)):
                partial.replace(state_file)  # atomic: a reader never sees half a file
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)  # a failed save leaves no half-written .tmp behind
