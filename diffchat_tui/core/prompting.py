"""THE prompt format: system text, message layout, and how the model's answer is read.

Training builds its examples here, the engines build their requests here, and evaluation and
RL read answers here, so a change to this file changes all of them at once (and the shipped
model is retrained when it does).

Our current layout, `diffchat-v2`, has the model answer with an edit script (core.edit_script)
against the prompt, so the words it was not asked to touch never pass through it. The older
layouts, whose answer is the whole new prompt, stay readable: `diffchat-v1` for models trained
on it, and `fewshot-v1` for a model that declares no layout (worked examples in the prompt).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from diffchat_tui.core.edit_script import Op, apply_script, format_script, parse_script
from diffchat_tui.core.slots import contradicted, other_mentions
from diffchat_tui.core.text import one_line, strip_escapes

PromptFormat = Literal["fewshot-v1", "diffchat-v1", "diffchat-v2"]
FORMATS: tuple[PromptFormat, ...] = ("fewshot-v1", "diffchat-v1", "diffchat-v2")
BASE_FORMAT: PromptFormat = "fewshot-v1"
"""For a model never trained on our layout: worked examples come before the real turn."""
TRAINED_FORMAT: PromptFormat = "diffchat-v2"
"""For our fine-tuned models: the bare layout they learned, answering with an edit script."""
SCRIPT_FORMATS: frozenset[str] = frozenset({"diffchat-v2"})
"""Layouts whose answer is an edit script; the others answer with the whole new prompt."""
FORMAT_METADATA_KEY = "diffchat.prompt_format"
"""GGUF metadata key by which a model (or LoRA adapter) declares the format it was trained on."""

MAX_NEW_TOKENS = 96
STALL_TOKENS = 12
"""Stop once this many tokens in a row add nothing to the answer: the model is looping."""
MAX_TARGET_CHARS = 2000
"""A whole-prompt answer longer than this is a runaway model, not a prompt (twice the source cap)."""

SCRIPT_SYSTEM_TEXT = (
    "Edit the Stable Diffusion prompt as the instruction asks. Reply with an edit script, one line "
    "per change: - old, ~ old -> new, + new, * quality words; ! first edits the negative prompt."
)
"""Short on purpose: every training row and every new process pays for it (the operations are learned from data)."""

SYSTEM_TEXT = (
    "You rewrite Stable Diffusion prompts. You are given a prompt and an instruction. "
    "Reply with the new prompt only, on one line: apply the instruction exactly, keep "
    "everything the instruction does not change, and write it as a comma-separated "
    "Stable Diffusion prompt."
)


@dataclass(frozen=True)
class Turn:
    """One finished edit: the instruction, the target prompt it produced, and the script that made it."""

    instruction: str
    target: str
    script: str = ""
    """Empty when the turn was not made by a script (an older model); the layout then derives one."""
    negative: str = ""
    """The negative prompt after this turn."""


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


def user_message(instruction: str, source: str | None = None, negative: str = "") -> str:
    """The user turn: the first one carries the source prompt (and negative prompt), later ones only the instruction."""
    if source is None:
        return f"Instruction: {instruction}"
    shown = f"Prompt: {source}\n" + (f"Negative: {negative}\n" if negative else "")
    return f"{shown}Instruction: {instruction}"


def format_for(declared: str | None) -> PromptFormat:
    """The format a model declared in its metadata, or the base format when it declared none."""
    return declared if declared in FORMATS else BASE_FORMAT  # type: ignore[return-value]


def build_messages(
    source: str,
    instruction: str,
    history: Sequence[Turn] = (),
    fmt: PromptFormat = BASE_FORMAT,
    negative: str = "",
) -> list[dict[str, str]]:
    """Chat messages asking for the next answer.

    Earlier turns are replayed as user/assistant pairs, so turn N's messages are a prefix
    of turn N+1's and llama.cpp reuses its KV cache instead of prefilling again. Only the
    first user message carries the prompt (and the negative prompt, in script layouts);
    scripts after it say what became of them.
    """
    shown_negative = negative if fmt in SCRIPT_FORMATS else ""
    turns = (*history, Turn(instruction, source))
    messages = fixed_prefix(fmt) + _conversation(source, turns, fmt, shown_negative)
    return messages[:-1]  # the open turn has no answer yet


def fixed_prefix(fmt: PromptFormat = BASE_FORMAT) -> list[dict[str, str]]:
    """The messages every request starts with; an engine may keep their KV state on disk."""
    messages = [{"role": "system", "content": SCRIPT_SYSTEM_TEXT if fmt in SCRIPT_FORMATS else SYSTEM_TEXT}]
    if fmt == "fewshot-v1":
        for example in FEW_SHOT:
            messages += _conversation(example.source, example.turns, fmt)
    return messages


def _conversation(source: str, turns: Sequence[Turn], fmt: PromptFormat, negative: str = "") -> list[dict[str, str]]:
    messages = []
    current = (source, negative)
    for index, turn in enumerate(turns):
        shown = user_message(turn.instruction, source, negative) if index == 0 else user_message(turn.instruction)
        messages.append({"role": "user", "content": shown})
        messages.append({"role": "assistant", "content": answer_text(*current, turn, fmt)})
        current = (turn.target, turn.negative)
    return messages


def answer_text(current: str, negative: str, turn: Turn, fmt: PromptFormat) -> str:
    """What the model says for a finished turn: its script (derived when the turn has none), or the target."""
    if fmt not in SCRIPT_FORMATS:
        return turn.target
    if turn.script:
        return turn.script
    from dataclasses import replace

    from diffchat_tui.core.script_diff import script_from_pair

    ops = script_from_pair(current, turn.target)
    if negative != turn.negative:
        ops += [replace(op, negative=True) for op in script_from_pair(negative, turn.negative) if op.kind != "rewrite"]
    return format_script(ops)


def stop_for(fmt: PromptFormat) -> list[str]:
    """Whole-prompt answers are one line, so a newline ends them; a script ends at the end of the turn."""
    return [] if fmt in SCRIPT_FORMATS else ["\n"]


def training_example(
    source: str,
    answer: str,
    instruction: str,
    history: Sequence[Turn] = (),
    fmt: PromptFormat = TRAINED_FORMAT,
    negative: str = "",
) -> dict[str, list[dict[str, str]]]:
    """A TRL conversational prompt/completion row, so SFT trains on exactly what inference sends.

    answer is what the model should say: the script for script layouts, else the target prompt.
    """
    return {
        "prompt": build_messages(source, instruction, history, fmt, negative),
        "completion": [{"role": "assistant", "content": answer}],
    }


_LABEL = re.compile(
    r"^\s*(?:(?:new|target|edited|final|rewritten|updated|improved|sd|stable diffusion)\s+)?"
    r"(?:prompt|output|answer|result)\s*[:\-]\s*",
    re.IGNORECASE,
)
_INLINE_INSTRUCTION = re.compile(r"\s*\binstruction\s*:.*$", re.IGNORECASE)
_WRAPPERS = "\"'`*“”‘’«» "
_WORD = re.compile(r"\S+")


_SYNTAX_MARKS = re.compile(r":\s*-?(?:\d+\.?\d*|\.\d+)\s*(?=[)\]>])|[()\[\]{}<>|]")


def comparable(text: str) -> str:
    """Lower-case words only: how two prompts or phrases are compared for sameness.

    Emphasis brackets and their weights separate words (`(wings:1.3)` reads `wings`), and so does a
    hyphen (`ultra-detailed` holds `detailed`).
    """
    text = _SYNTAX_MARKS.sub(" ", text.lower()).replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]+", "", text).split())


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


def _strip_phrase(phrase: str) -> str:
    """Trim stray punctuation and unpaired quotes from a phrase's ends; a quoted word like "OPEN" keeps its quotes."""
    phrase = phrase.strip(" .;:*`")
    for quote in "\"'“”‘’«»":
        if phrase.count(quote) % 2 and phrase[:1] == quote:
            phrase = phrase[1:]
        if phrase.count(quote) % 2 and phrase[-1:] == quote:
            phrase = phrase[:-1]
    paired = {"\"": "\"", "'": "'", "“": "”", "‘": "’", "«": "»"}
    while len(phrase) > 1 and paired.get(phrase[0]) == phrase[-1] and phrase.count(phrase[0]) <= 2:
        phrase = phrase[1:-1].strip()
    return phrase.strip(" .;:")


def clean_target(raw: str, instruction: str = "", max_chars: int = MAX_TARGET_CHARS) -> str:
    """Turn a raw whole-prompt answer into one clean prompt line; empty when nothing usable is left.

    One line, no labels or wrapping quotes, no echoed instruction, loops cut; cut at a phrase
    boundary only past max_chars, which no real prompt reaches.
    """
    lines = [line for line in strip_escapes(raw).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    previous = None
    while previous != text:  # labels and quotes can nest: 'Prompt: "..."'
        previous = text
        text = _strip_phrase(_LABEL.sub("", text))
    text = _INLINE_INSTRUCTION.sub("", text)

    echo = comparable(instruction)
    phrases: list[str] = []
    seen: set[str] = set()
    for phrase in one_line(text).split(","):
        words = _collapse_repeats(_WORD.findall(phrase))
        if echo and comparable(" ".join(words)).startswith(echo + " "):
            words = words[len(echo.split()) :]  # the instruction echoed in front of real content
        phrase = _strip_phrase(" ".join(words))
        key = comparable(phrase)
        if not key or key in seen or key == echo:
            continue
        seen.add(key)
        phrases.append(phrase)

    kept: list[str] = []
    for phrase in phrases:
        if kept and len(", ".join([*kept, phrase])) > max_chars:
            break
        kept.append(phrase[:max_chars])
    return ", ".join(kept)


@dataclass
class Answer:
    """A model's answer, read: the new prompt (and negative prompt), the script that made it, and what could not be used."""

    target: str
    negative: str = ""
    script: str = ""
    """The operations that took effect, one per line; empty for whole-prompt answers."""
    problems: list[str] = field(default_factory=list)
    """Script lines that are not operations and operations that did not apply, each with its reason."""

    @property
    def clean(self) -> bool:
        return bool(self.target) and not self.problems


def read_answer(
    raw: str, current: str, fmt: PromptFormat, instruction: str = "", *, beautify: bool = True, negative: str = ""
) -> Answer:
    """The new prompt from a raw answer: a script applied to current (and negative), or a whole prompt cleaned up."""
    if fmt not in SCRIPT_FORMATS:
        target = clean_target(raw, instruction)
        return Answer(target, negative, "", [] if target else ["the answer holds no usable prompt"])
    script = parse_script(strip_escapes(raw))
    ops = [Op("rewrite", clean_target(op.text, instruction)) if op.kind == "rewrite" else op for op in script.ops]
    ops = [op for op in ops if op.text]
    applied = apply_script(current, ops, beautify=beautify, negative=negative)
    added = [op.new if op.kind == "replace" else op.text for op in applied.done if op.kind in ("replace", "add") and not op.negative]
    stale = contradicted(current, applied.prompt, added, instruction)  # `~ day -> sunset` also drops the `noon` it left behind
    stale += other_mentions(applied.prompt, [op.text for op in applied.done if op.kind == "delete" and not op.negative])
    if stale:
        cleared = apply_script(applied.prompt, [Op("delete", quote) for quote in stale], negative=applied.negative)
        applied.prompt, applied.done = cleared.prompt, applied.done + cleared.done
    problems = script.errors + [f"{op.line()}: {reason}" for op, reason in applied.failed]
    if not script.ops:
        problems.append("the answer holds no edit operation")
    return Answer(applied.prompt, applied.negative, format_script(applied.done), problems)
