"""The InstructPE record: the released four fields plus our optional extras, validated strictly."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from diffchat_tui.core.prompting import comparable
from diffchat_tui.core.text import MAX_INSTRUCTION_CHARS, MAX_SOURCE_CHARS

MAX_TARGET_CHARS = MAX_SOURCE_CHARS
"""A target is a prompt too; anything longer than a source may be is not one."""

# Instructions are one line; prompts may break lines (a BREAK on its own line), but an escape or other
# control character in training data would teach the model to emit one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
ALTERNATIVES = " | "
"""A check phrase may list alternatives, any one of which satisfies it: `tiny | small | miniature`."""
SYNTAX_CHARS = re.compile(r"[()\[\]<>{}]")


def contains_exact(text: str, piece: str) -> bool:
    """Whether text holds piece (or one of its ` | ` alternatives) byte for byte."""
    return any(option in text for option in piece.split(ALTERNATIVES))


def _one_line(text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("contains a newline, tab or control character")
    return text


def _prompt_text(text: str) -> str:
    if _CONTROL_BUT_NEWLINE.search(text):
        raise ValueError("contains a tab or control character")
    return text


Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_line)]
Prompt = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TARGET_CHARS), AfterValidator(_prompt_text)
]
Instruction = Annotated[Line, StringConstraints(max_length=MAX_INSTRUCTION_CHARS)]


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether phrase occurs in text as whole words, ignoring case and punctuation."""
    return PhraseIndex(text).has(phrase)


class PhraseIndex:
    """A text normalized once, to test many phrases against it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.padded = f" {comparable(text)} "

    def has(self, phrase: str) -> bool:
        """Whether the phrase (or one of its ` | ` alternatives) occurs as whole words; a phrase written with
        A1111 syntax (`(clouds:1.3)`, `<lora:x:0.6>`) must occur as written, since the weight is the point."""
        for option in phrase.split(ALTERNATIVES):
            if SYNTAX_CHARS.search(option):
                if option.lower() in self.text.lower():
                    return True
                continue
            wanted = comparable(option)
            if wanted and f" {wanted} " in self.padded:
                return True
        return False


class HistoryTurn(BaseModel):
    """An earlier turn of a multi-turn record: what was asked, the target it produced, and (ours) the script."""

    model_config = ConfigDict(extra="forbid")

    instruction: Instruction
    target: Prompt
    script: str | None = None
    """The edit script that made target from the turn before; derived by diff when absent."""
    negative: str | None = None
    """Ours: the negative prompt after this turn, when the record has one."""


class Checks(BaseModel):
    """Phrases that score a target exactly: compliance (include/exclude) and preservation (keep)."""

    model_config = ConfigDict(extra="forbid")

    must_include: list[Line] = Field(default_factory=list)
    """Things the instruction asked for: added objects, the new style, the new colour."""
    must_exclude: list[Line] = Field(default_factory=list)
    """Things the instruction took away: removed objects, the replaced subject, the old style."""
    keep: list[Line] = Field(default_factory=list)
    """Source content the instruction did not touch; a faithful target still has it."""
    exact: list[str] = Field(default_factory=list)
    """Text the target holds byte for byte: untouched A1111 syntax (`<lora:x:0.6>`, `(word:1.2)`), a new weight."""
    exact_absent: list[str] = Field(default_factory=list)
    """Text the target must no longer hold byte for byte (a weight the instruction changed)."""
    negative_include: list[Line] = Field(default_factory=list)
    """Things the instruction asked to keep out of the picture: they belong in the negative prompt."""
    negative_exclude: list[Line] = Field(default_factory=list)
    """Things the negative prompt must no longer hold."""

    def negative_failures(self, negative: str) -> list[str]:
        text = PhraseIndex(negative)
        problems = [f"negative lacks {phrase!r}" for phrase in self.negative_include if not text.has(phrase)]
        return problems + [f"negative still has {phrase!r}" for phrase in self.negative_exclude if text.has(phrase)]

    def failures(self, target: str) -> list[str]:
        """Every way target breaks these checks, each as a short phrase; empty when it passes."""
        text = PhraseIndex(target)
        problems = [f"lacks {phrase!r}" for phrase in self.must_include if not text.has(phrase)]
        problems += [f"still has {phrase!r}" for phrase in self.must_exclude if text.has(phrase)]
        problems += [f"lost {phrase!r}" for phrase in self.keep if not text.has(phrase)]
        problems += [f"lost exact {piece!r}" for piece in self.exact if not contains_exact(target, piece)]
        problems += [f"still has exact {piece!r}" for piece in self.exact_absent if contains_exact(target, piece)]
        return problems


class Record(BaseModel):
    """One InstructPE example. Unknown fields are allowed and written back unchanged."""

    model_config = ConfigDict(extra="allow")

    source_prompt: Prompt
    """The user's raw prompt, before any beautification."""
    instruction: Instruction
    """The latest instruction; earlier ones are in history."""
    beautified_source_prompt: Prompt
    beautified_target_prompt: Prompt
    category: Line | None = None
    history: list[HistoryTurn] = Field(default_factory=list)
    checks: Checks | None = None
    heldout: StrictBool = False
    """True when the record uses phrasings or vocabulary kept out of training."""
    edit_script: str | None = None
    """Ours: the script that turns the current prompt (source_prompt, or the last history target) into the target."""
    source_negative: Prompt | None = None
    """Ours: the negative prompt the source came with."""
    target_negative: str | None = None
    """Ours: the negative prompt after the edit (empty when the edit emptied it)."""

    @model_validator(mode="after")
    def _target_passes_its_checks(self) -> Record:
        if self.checks is not None:
            problems = self.checks.failures(self.beautified_target_prompt)
            problems += self.checks.negative_failures(self.target_negative or "")
            if problems:
                raise ValueError(f"beautified_target_prompt fails its checks: {', '.join(problems)}")
        return self

    @model_validator(mode="after")
    def _scripts_lead_to_the_targets(self) -> Record:
        from diffchat_tui.core.edit_script import apply_script, parse_script
        from diffchat_tui.core.script_diff import normalized

        current, negative = self.source_prompt, self.source_negative or ""
        steps = [(turn.script, turn.target, turn.negative, f"history turn {n}") for n, turn in enumerate(self.history, 1)]
        last = (self.edit_script, self.beautified_target_prompt, self.target_negative, "edit_script")
        for script, target, target_negative, where in [*steps, last]:
            after = negative if target_negative is None else target_negative
            if script is not None:
                parsed = parse_script(script)
                applied = apply_script(current, parsed.ops, negative=negative)
                same = normalized(applied.prompt) == normalized(target) and normalized(applied.negative) == normalized(after)
                if parsed.errors or applied.failed or not same:
                    reason = (parsed.errors or [f"{op.line()}: {why}" for op, why in applied.failed] or ["gives another prompt"])[0]
                    raise ValueError(f"{where}'s script does not lead to its target: {reason}")
            current, negative = target, after
        return self

    def to_json(self) -> dict:
        """The record as written to JSONL: the fields it was given (extras after the known ones), no defaults added."""
        return self.model_dump(mode="json", exclude_unset=True)


def describe_errors(exc: Exception) -> str:
    """A pydantic ValidationError as one line a person can act on."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return str(exc)
    reasons = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        kind = error["type"]
        if kind == "missing":
            reasons.append(f'missing "{where}"')
        elif kind == "string_too_short":
            reasons.append(f'"{where}" is empty')
        elif kind in ("string_too_long", "too_long"):  # pydantic says "items" even when the value is text
            unit = "characters" if isinstance(error.get("input"), str) else "items"
            reasons.append(f'"{where}" is longer than {error["ctx"]["max_length"]} {unit}')
        elif kind in ("string_type", "bool_type", "list_type", "model_type", "dict_type"):
            wanted = {"string_type": "a string", "bool_type": "true or false", "list_type": "a list"}.get(kind, "an object")
            reasons.append(f'"{where}" must be {wanted}')
        else:
            message = error["msg"].removeprefix("Value error, ")
            reasons.append(f'"{where}": {message}' if where else message)
    shown = reasons[:3] + ([f"and {len(reasons) - 3} more"] if len(reasons) > 3 else [])
    return "; ".join(shown)
