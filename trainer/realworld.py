"""The hand-written real-world eval set: prompts pasted the way people paste them, never trained on.

Each case in `trainer/eval/realworld.jsonl` is a source prompt (long community prompts, booru
tags, A1111 and dynamic-prompts syntax, short sentences), earlier instructions the model runs
itself, and a final instruction, with checks:

- `must_include` / `must_exclude`: phrases matched as whole words (a list gives alternatives);
- `keep`: exact substrings of the source that must survive byte for byte;
- `touches`: syntax the instruction may change; every other piece of syntax in the source must
  survive byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompt_syntax import parse
from trainer.data.schema import ALTERNATIVES, describe_errors
from trainer.metrics import EditScore, score_edit

Text = Annotated[str, StringConstraints(min_length=1)]
Check = Text | list[Text]


def shipped_set(name: str) -> Path:
    """An eval set shipped in trainer/eval/ (in the repository, and in the wheel next to the trainer package)."""
    here = Path(__file__).resolve().parent / "eval" / name
    return here if here.is_file() else paths.package_assets_dir().parent / "trainer" / "eval" / name


def default_path() -> Path:
    """The hand-written real-world set."""
    return shipped_set("realworld.jsonl")


def heldout_path() -> Path:
    """The builder's held-out test records behind the README table, pinned so that no later change to the
    builder or to core/ can move them: the held-out rows of `diffchat eval --data test.jsonl --limit 600` on
    the commit-fccfae3 split (`data build --n 6400 --seed 0`, `data split --test-frac 0.1 --seed 0`)."""
    return shipped_set("heldout.jsonl")


class RealCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Text
    kind: Text
    source: Text
    instruction: Text
    history: list[Text] = Field(default_factory=list)
    must_include: list[Check] = Field(default_factory=list)
    must_exclude: list[Check] = Field(default_factory=list)
    keep: list[Text] = Field(default_factory=list)
    touches: list[Text] = Field(default_factory=list)
    negative: str = ""
    """The negative prompt pasted with the source, if any."""
    negative_include: list[Check] = Field(default_factory=list)
    """What the negative prompt must hold after the edit ("no text" -> text)."""
    negative_exclude: list[Check] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _quotes_are_in_the_source(self) -> RealCase:
        for piece in [*self.keep, *self.touches]:
            if piece not in self.source:
                raise ValueError(f"{piece!r} is not in the source")
        return self

    @property
    def register(self) -> str:
        return self.id.split("-", 1)[0]

    def syntax(self) -> list[str]:
        """Syntax pieces of the source the instruction leaves alone: they must come out byte for byte."""
        touched = [(self.source.index(t), self.source.index(t) + len(t)) for t in self.touches]
        pieces, at = [], 0
        for piece in parse(self.source).syntax_elements():
            start = self.source.find(piece, at if piece in self.source[at:] else 0)
            at = start + 1
            if not any(start < end and begin < start + len(piece) for begin, end in touched):
                pieces.append(piece)
        return list(dict.fromkeys(pieces))

    def score(self, prediction: str, negative: str = "") -> EditScore:
        def joined(checks: list) -> list[str]:
            return [ALTERNATIVES.join(check) if isinstance(check, list) else check for check in checks]

        syntax = self.syntax()
        return score_edit(
            prediction, instruction=" ".join([*self.history, self.instruction]), source=self.source,
            include=joined(self.must_include), exclude=joined(self.must_exclude),
            verbatim=[piece for piece in self.keep if piece not in syntax], syntax=syntax, negative=negative,
            negative_include=joined(self.negative_include), negative_exclude=joined(self.negative_exclude),
        )  # fmt: skip


def load_cases(path: Path | None = None) -> list[RealCase]:
    """Every case of the file; a bad line stops with its line number."""
    path = path or default_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            cases.append(RealCase.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise BadInput(f"{path}:{number}: {describe_errors(exc)}") from None
    if not cases:
        raise BadInput(f"{path} has no cases")
    return cases
