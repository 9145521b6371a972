"""InstructPE records as TRL conversational prompt/completion rows, in THE prompt format of core.prompting."""

from __future__ import annotations

from collections.abc import Iterable

from diffchat_tui.core.prompting import TRAINED_FORMAT, PromptFormat, Turn, training_example
from trainer.data.schema import Record


def sft_row(record: Record, fmt: PromptFormat = TRAINED_FORMAT) -> dict[str, list[dict[str, str]]]:
    """One training row: the user's raw source, the earlier turns, the instruction, and the beautified target."""
    history = [Turn(turn.instruction, turn.target) for turn in record.history]
    return training_example(record.source_prompt, record.beautified_target_prompt, record.instruction, history, fmt=fmt)


def sft_rows(records: Iterable[Record], fmt: PromptFormat = TRAINED_FORMAT) -> list[dict[str, list[dict[str, str]]]]:
    """Training rows for every record, in order."""
    return [sft_row(record, fmt) for record in records]
