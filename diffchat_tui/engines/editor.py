"""Drives an LLM engine through edits: the prompt format in, clean target prompts and timings out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from diffchat_tui.core.errors import GenerationError
from diffchat_tui.core.prompting import (
    SCRIPT_FORMATS,
    STALL_TOKENS,
    PromptFormat,
    Turn,
    build_messages,
    clean_target,
    comparable,
    fixed_prefix,
    format_for,
    read_answer,
    stop_for,
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
    script: str = ""
    """The edit operations that made target, one per line (empty for whole-prompt models)."""
    negative: str = ""
    """The negative prompt after the edit (script models may change it: "no text or watermarks")."""
    problems: list[str] = field(default_factory=list)
    """What the model said that could not be used, when no try came out clean."""

    @property
    def turn(self) -> Turn:
        return Turn(self.instruction, self.target, self.script, self.negative)


@dataclass
class GenerationOptions:
    temperature: float = 0.0
    candidate_temperature: float = 0.8
    seed: int = 0
    max_tokens: int = 96
    prompt_format: str = "auto"
    beautify: bool = True
    retries: int = 2

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> GenerationOptions:
        return cls(
            llm.temperature, llm.candidate_temperature, llm.seed, llm.max_tokens, llm.prompt_format, llm.beautify, llm.retries
        )


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
        temperature: float,
        seed: int,
        cancel: threading.Event | None,
        on_piece: Callable[[str], None] | None = None,
    ) -> tuple[str, Timings]:
        fmt = self.prompt_format
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
            stop=stop_for(fmt),
            cancel=cancel,
        ):
            if not pieces:
                timings.ttft_s = time.perf_counter() - started
            pieces.append(piece)
            if on_piece is not None:
                on_piece(piece)
            # A looping model adds nothing new for many tokens in a row: stop paying for it.
            progress = _progress("".join(pieces), fmt)
            longest, stalled = (progress, 0) if progress > longest else (longest, stalled + 1)
            if stalled >= STALL_TOKENS:
                break
        timings.total_s = time.perf_counter() - started
        timings.tokens = len(pieces)
        if timings.tokens > 1 and timings.total_s > timings.ttft_s:
            timings.tok_per_s = (timings.tokens - 1) / (timings.total_s - timings.ttft_s)
        if timings.tokens >= self.options.max_tokens:
            self.warn(f"the answer reached the {self.options.max_tokens}-token limit (--max-tokens) and may be cut short")
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
        negative: str = "",
    ) -> EditResult:
        self.load()
        try:
            messages = build_messages(source, instruction, history, self.prompt_format, negative)
            raw, timings = self._generate(messages, temperature, seed, cancel, on_piece)
        except ContextOverflow:
            if not history:
                raise GenerationError("the prompt does not fit the model's context; shorten it") from None
            # The latest target already carries every earlier edit, so it can stand in for the history.
            self.warn("the conversation outgrew the model's context; continuing from the current prompt only")
            last = history[-1]
            return self._attempt(last.target, instruction, (), temperature, seed, cancel, on_piece, last.negative)
        current, current_negative = (history[-1].target, history[-1].negative) if history else (source, negative)
        answer = read_answer(
            raw, current, self.prompt_format, instruction, beautify=self.options.beautify, negative=current_negative
        )
        return EditResult(
            source, instruction, answer.target, self.engine.name, timings, raw, answer.script, answer.negative, answer.problems
        )

    def _checked_attempt(
        self,
        source: str,
        instruction: str,
        history: Sequence[Turn],
        temperature: float,
        seed: int,
        cancel: threading.Event | None,
        on_piece: Callable[[str], None] | None = None,
        negative: str = "",
    ) -> EditResult:
        """One answer; a script that does not apply cleanly is asked for again (sampled) before the best try is kept."""
        tries: list[EditResult] = []
        for retry in range(self.options.retries + 1):
            heat = temperature if retry == 0 else max(temperature, self.options.candidate_temperature, 0.3)
            result = self._attempt(source, instruction, history, heat, seed + 1000 * retry, cancel, on_piece, negative)
            if retry:
                result.timings.load_s += tries[-1].timings.load_s
            tries.append(result)
            if (result.target and not result.problems) or (cancel is not None and cancel.is_set()):
                return result
        current = history[-1].target if history else source
        best = min(tries, key=lambda r: (not r.target, comparable(r.target) == comparable(current), len(r.problems)))
        if best.target and comparable(best.target) != comparable(current):
            self.warn(f"part of the edit could not be applied: {best.problems[0]}")
        elif best.target:
            self.warn(f"the model's edit could not be applied ({best.problems[0]}); the prompt is unchanged")
        return best

    def edit(
        self,
        source: str,
        instruction: str,
        history: Sequence[Turn] = (),
        cancel: threading.Event | None = None,
        on_piece: Callable[[str], None] | None = None,
        negative: str = "",
    ) -> EditResult:
        """The target prompt for one instruction; raises GenerationError if the model gives nothing usable.

        negative is the negative prompt the source came with (later turns carry their own).
        """
        return self.candidates(source, instruction, 1, history, cancel, on_piece, negative)[0]

    def candidates(
        self,
        source: str,
        instruction: str,
        count: int,
        history: Sequence[Turn] = (),
        cancel: threading.Event | None = None,
        on_piece: Callable[[str], None] | None = None,
        negative: str = "",
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
            result = self._checked_attempt(
                source, instruction, history, temperature, options.seed + attempt, cancel, on_piece, negative
            )
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


def _progress(text: str, fmt: PromptFormat) -> int:
    """How much answer there is so far, in a measure that stops growing while the model repeats itself."""
    if fmt not in SCRIPT_FORMATS:
        return len(clean_target(text).split())
    *complete, partial = text.split("\n")
    lines = list(dict.fromkeys(line.strip() for line in complete if line.strip()))
    size = sum(len(line) for line in lines)
    partial = partial.strip()
    if partial and not any(line.startswith(partial) for line in lines):
        size += len(partial)
    return size
