"""THE prompt format: system text, message layout and answer clean-up.

Training builds its examples here, the engines build their requests here and evaluation
cleans answers here, so a change to this file changes all three at once (DESIGN.md §5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from diffchat_tui.core.text import one_line, strip_escapes

PromptFormat = Literal["fewshot-v1", "diffchat-v1"]
FORMATS: tuple[PromptFormat, ...] = ("fewshot-v1", "diffchat-v1")
BASE_FORMAT: PromptFormat = "fewshot-v1"
"""For a model never trained on our layout: worked examples come before the real turn."""
TRAINED_FORMAT: PromptFormat = "diffchat-v1"
"""For our fine-tuned models: the bare layout they learned, so prefill stays short."""
FORMAT_METADATA_KEY = "diffchat.prompt_format"
"""GGUF metadata key by which a model (or LoRA adapter) declares the format it was trained on."""

MAX_TARGET_WORDS = 60
"""CLIP reads 77 tokens; words past this would be cut by the image model anyway."""
MAX_NEW_TOKENS = 96
STOP = ["\n"]
"""Answers are one line; stopping at the newline keeps a small model from rambling."""
STALL_TOKENS = 12
"""Stop once this many tokens in a row add nothing to the cleaned answer: the model is looping."""

SYSTEM_TEXT = (
    "You rewrite Stable Diffusion prompts. You are given a prompt and an instruction. "
    "Reply with the new prompt only, on one line: apply the instruction exactly, keep "
    "everything the instruction does not change, and write it as a comma-separated "
    "Stable Diffusion prompt."
)


@dataclass(frozen=True)
class Turn:
    """One finished edit: the instruction and the target prompt it produced."""

    instruction: str
    target: str


@dataclass(frozen=True)
class Example:
    """A worked conversation for models that never learned our layout."""

    source: str
    turns: tuple[Turn, ...]


FEW_SHOT: tuple[Example, ...] = (
    Example(
        "a house by a lake, summer",
        (
            Turn("make it winter", "a house by a frozen lake, winter, snow on the roof, soft cold light"),
            Turn("add a deer", "a house by a frozen lake, a deer in the snow, winter, snow on the roof, soft cold light"),
        ),
    ),
    Example(
        "portrait of a woman with a red hat, oil painting",
        (Turn("remove the hat", "portrait of a woman, oil painting, detailed brushwork, warm tones"),),
    ),
    Example(
        "a dog running on a beach",
        (Turn("add a red kite in the sky", "a dog running on a beach, a red kite in the sky, sunny day, sharp focus"),),
    ),
)


def user_message(instruction: str, source: str | None = None) -> str:
    """The user turn: the first one carries the source prompt, later ones only the instruction."""
    if source is None:
        return f"Instruction: {instruction}"
    return f"Prompt: {source}\nInstruction: {instruction}"


def format_for(declared: str | None) -> PromptFormat:
    """The format a model declared in its metadata, or the base format when it declared none."""
    return declared if declared in FORMATS else BASE_FORMAT  # type: ignore[return-value]


def build_messages(
    source: str,
    instruction: str,
    history: Sequence[Turn] = (),
    fmt: PromptFormat = BASE_FORMAT,
) -> list[dict[str, str]]:
    """Chat messages asking for the next target prompt.

    Earlier turns are replayed as user/assistant pairs, so turn N's messages are a prefix
    of turn N+1's and llama.cpp reuses its KV cache instead of prefilling again.
    """
    messages = fixed_prefix(fmt) + _conversation(source, (*history, Turn(instruction, "")))
    return messages[:-1]  # the open turn has no answer yet


def fixed_prefix(fmt: PromptFormat = BASE_FORMAT) -> list[dict[str, str]]:
    """The messages every request starts with; an engine may keep their KV state on disk."""
    messages = [{"role": "system", "content": SYSTEM_TEXT}]
    if fmt == "fewshot-v1":
        for example in FEW_SHOT:
            messages += _conversation(example.source, example.turns)
    return messages


def _conversation(source: str, turns: Sequence[Turn]) -> list[dict[str, str]]:
    messages = []
    for index, turn in enumerate(turns):
        messages.append({"role": "user", "content": user_message(turn.instruction, source if index == 0 else None)})
        messages.append({"role": "assistant", "content": turn.target})
    return messages


def training_example(
    source: str,
    target: str,
    instruction: str,
    history: Sequence[Turn] = (),
    fmt: PromptFormat = TRAINED_FORMAT,
) -> dict[str, list[dict[str, str]]]:
    """A TRL conversational prompt/completion row, so SFT trains on exactly what inference sends."""
    return {
        "prompt": build_messages(source, instruction, history, fmt),
        "completion": [{"role": "assistant", "content": target}],
    }


_LABEL = re.compile(
    r"^\s*(?:(?:new|target|edited|final|rewritten|updated|improved|sd|stable diffusion)\s+)?"
    r"(?:prompt|output|answer|result)\s*[:\-]\s*",
    re.IGNORECASE,
)
_INLINE_INSTRUCTION = re.compile(r"\s*\binstruction\s*:.*$", re.IGNORECASE)
_WRAPPERS = "\"'`*“”‘’«» "
_WORD = re.compile(r"\S+")


def comparable(text: str) -> str:
    """Lower-case words only: how two prompts or phrases are compared for sameness."""
    return " ".join(re.sub(r"[^\w\s]+", "", text.lower()).split())


def _collapse_repeats(words: list[str]) -> list[str]:
    """Cut loops: a run of 2+ words repeated back to back, or one word said 3+ times in a row."""
    out: list[str] = []
    for word in words:
        out.append(word)
        for size in range(1, min(8, len(out) // 2) + 1):
            tail, before = out[-size:], out[-2 * size : -size]
            if [w.lower() for w in tail] != [w.lower() for w in before]:
                continue
            if size > 1 or (len(out) >= 3 and out[-3].lower() == word.lower()):
                del out[-size:]
                break
    return out


def clean_target(raw: str, instruction: str = "", max_words: int = MAX_TARGET_WORDS) -> str:
    """Turn a raw model answer into one clean prompt line; empty when nothing usable is left.

    One line, no labels or quotes, no echoed instruction, loops cut, at most max_words words.
    """
    lines = [line for line in strip_escapes(raw).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    previous = None
    while previous != text:  # labels and quotes can nest: 'Prompt: "..."'
        previous = text
        text = _LABEL.sub("", text).strip(_WRAPPERS)
    text = _INLINE_INSTRUCTION.sub("", text)

    echo = comparable(instruction)
    phrases: list[str] = []
    seen: set[str] = set()
    for phrase in one_line(text).split(","):
        words = _collapse_repeats(_WORD.findall(phrase))
        if echo and comparable(" ".join(words)).startswith(echo + " "):
            words = words[len(echo.split()) :]  # the instruction echoed in front of real content
        phrase = " ".join(words).strip(" .;:" + _WRAPPERS)
        key = comparable(phrase)
        if not key or key in seen or key == echo:
            continue
        seen.add(key)
        phrases.append(phrase)

    kept: list[str] = []
    budget = max_words
    for phrase in phrases:
        words = phrase.split()
        if len(words) > budget:
            if not kept:  # a single overlong phrase is cut rather than dropped
                kept.append(" ".join(words[:budget]))
            break
        kept.append(phrase)
        budget -= len(words)
    return ", ".join(kept)
