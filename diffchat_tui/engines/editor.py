"""Drives an LLM engine through edits: the prompt format in, clean target prompts and timings out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from diffchat_tui.core.errors import GenerationError
from diffchat_tui.core.prompting import (
    MAX_TARGET_WORDS,
    STALL_TOKENS,
    STOP,
    PromptFormat,
    Turn,
    build_messages,
    clean_target,
    comparable,
    fixed_prefix,
    format_for,
)
from diffchat_tui.engines.llm import ContextOverflow, LLMEngine

if TYPE_CHECKING:
    from diffchat_tui.config import LLMSettings


@dataclass
class Timings:
    load_s: float = 0.0
    """Model load spent on this result: the first result of a run pays it, later ones 0."""
    ttft_s: float = 0.0
    """Time to the first token, which is mostly prefill."""
    total_s: float = 0.0
    tokens: int = 0
    tok_per_s: float = 0.0
    """Decode speed: tokens after the first ÷ the time after the first."""

    def rounded(self) -> dict[str, float | int]:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


@dataclass
class EditResult:
    source: str
    instruction: str
    target: str
    model: str
    timings: Timings = field(default_factory=Timings)
    raw: str = ""
    """The model's answer before clean-up, kept for debugging and evaluation."""


@dataclass
class GenerationOptions:
    temperature: float = 0.0
    candidate_temperature: float = 0.8
    seed: int = 0
    max_tokens: int = 96
    prompt_format: str = "auto"

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> GenerationOptions:
        return cls(llm.temperature, llm.candidate_temperature, llm.seed, llm.max_tokens, llm.prompt_format)


class Editor:
    """Applies instructions to prompts with one warm engine."""

    def __init__(
        self,
        engine: LLMEngine,
        options: GenerationOptions | None = None,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.engine = engine
        self.options = options or GenerationOptions()
        self.warn = warn
        self._pending_load_s = 0.0
        self._loaded = False

    def load(self) -> None:
        """Load the model, and restore (or compute) the fixed prefix's KV state where the engine can."""
        if self._loaded:
            return
        started = time.perf_counter()
        self.engine.load()
        self.engine.prime(fixed_prefix(self.prompt_format))
        self._pending_load_s += time.perf_counter() - started
        self._loaded = True

    @property
    def prompt_format(self) -> PromptFormat:
        if self.options.prompt_format != "auto":
            return self.options.prompt_format  # type: ignore[return-value]
        return format_for(self.engine.declared_format)

    def _generate(
        self,
        messages: list[dict[str, str]],
        instruction: str,
        temperature: float,
        seed: int,
        cancel: threading.Event | None,
        on_piece: Callable[[str], None] | None = None,
    ) -> tuple[str, Timings]:
        timings = Timings(load_s=self._pending_load_s)
        self._pending_load_s = 0.0
        pieces: list[str] = []
        longest, stalled = 0, 0
        started = time.perf_counter()
        for piece in self.engine.stream(
            messages,
            temperature=temperature,
            seed=seed,
            max_tokens=self.options.max_tokens,
            stop=STOP,
            cancel=cancel,
        ):
            if not pieces:
                timings.ttft_s = time.perf_counter() - started
            pieces.append(piece)
            if on_piece is not None:
                on_piece(piece)
            # Tokens past the word cap, or looping ones the clean-up drops, are wasted time: stop.
            words = len(clean_target("".join(pieces), instruction).split())
            longest, stalled = (words, 0) if words > longest else (longest, stalled + 1)
            if stalled >= STALL_TOKENS or words >= MAX_TARGET_WORDS:
                break
        timings.total_s = time.perf_counter() - started
        timings.tokens = len(pieces)
        if timings.tokens > 1 and timings.total_s > timings.ttft_s:
            timings.tok_per_s = (timings.tokens - 1) / (timings.total_s - timings.ttft_s)
        return "".join(pieces), timings

    def _attempt(
        self,
        source: str,
        instruction: str,
        history: Sequence[Turn],
        temperature: float,
        seed: int,
        cancel: threading.Event | None,
        on_piece: Callable[[str], None] | None = None,
    ) -> EditResult:
        self.load()
        try:
            messages = build_messages(source, instruction, history, self.prompt_format)
            raw, timings = self._generate(messages, instruction, temperature, seed, cancel, on_piece)
        except ContextOverflow:
            if not history:
                raise GenerationError("the prompt does not fit the model's context; shorten it") from None
            # The latest target already carries every earlier edit, so it can stand in for the history.
            self.warn("the conversation outgrew the model's context; continuing from the current prompt only")
            return self._attempt(history[-1].target, instruction, (), temperature, seed, cancel, on_piece)
        target = clean_target(raw, instruction)
        return EditResult(source, instruction, target, self.engine.name, timings, raw)

    def edit(
        self,
        source: str,
        instruction: str,
        history: Sequence[Turn] = (),
        cancel: threading.Event | None = None,
        on_piece: Callable[[str], None] | None = None,
    ) -> EditResult:
        """The target prompt for one instruction; raises GenerationError if the model gives nothing usable."""
        return self.candidates(source, instruction, 1, history, cancel, on_piece)[0]

    def candidates(
        self,
        source: str,
        instruction: str,
        count: int,
        history: Sequence[Turn] = (),
        cancel: threading.Event | None = None,
        on_piece: Callable[[str], None] | None = None,
    ) -> list[EditResult]:
        """Up to `count` distinct target prompts; the first is sampled at the main temperature.

        on_piece gets every generated piece as it arrives (a UI streams them).
        """
        options = self.options
        results: list[EditResult] = []
        seen: set[str] = set()
        for attempt in range(count * 4):
            if len(results) == count or (cancel is not None and cancel.is_set()):
                break
            temperature = options.temperature if attempt == 0 else max(options.candidate_temperature, 0.1)
            result = self._attempt(source, instruction, history, temperature, options.seed + attempt, cancel, on_piece)
            key = comparable(result.target)
            if key and key not in seen:
                seen.add(key)
                results.append(result)
        if not results and cancel is not None and cancel.is_set():
            return []
        if not results:
            raise GenerationError(f"{self.engine.name} gave no usable prompt for {instruction!r}")
        if len(results) < count:
            self.warn(f"only {len(results)} distinct candidates out of {count} asked for")
        return results
