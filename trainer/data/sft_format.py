"""InstructPE records as TRL conversational prompt/completion rows, in THE prompt format of core.prompting.

In the script layout the model learns to answer with the edit script from the prompt it is
shown to the target. Our builder's records carry their scripts (`edit_script`, and `script`
on each history turn). Any other record, a released InstructPE one included, gets its script
by diff (core.script_diff), from `beautified_source_prompt`: in the released data
`source_prompt` -> `beautified_source_prompt` is the beautifier rewriting the raw prompt, and
`beautified_source_prompt` -> `beautified_target_prompt` is the edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from diffchat_tui.core.edit_script import format_script
from diffchat_tui.core.prompting import SCRIPT_FORMATS, TRAINED_FORMAT, PromptFormat, Turn, training_example
from diffchat_tui.core.script_diff import script_from_pair
from trainer.data.schema import Record


@cache
def _quality_words() -> frozenset[str]:
    """The beautifier's vocabulary: added at the end of a pair, these words become a `*` op."""
    from trainer.data.vocab import load_vocab

    vocab = load_vocab()
    words = [*vocab.pools("quality", "beautify").pick(None), *vocab.pools("quality", "detail").pick(None)]
    return frozenset(word.lower() for word in [*words, *vocab.pools("booru", "quality").pick(None)])


def conversation(record: Record) -> tuple[str, str, list[Turn], str]:
    """(the prompt the model is shown, its negative prompt, the earlier turns with their scripts, the script it should answer)."""
    ours = record.edit_script is not None
    start = record.source_prompt if ours else record.beautified_source_prompt
    negative = record.source_negative or ""
    turns, current = [], start
    for turn in record.history:
        script = turn.script if turn.script is not None else _diff(current, turn.target)
        negative = negative if turn.negative is None else turn.negative
        turns.append(Turn(turn.instruction, turn.target, script, negative))
        current = turn.target
    answer = record.edit_script if ours else _diff(current, record.beautified_target_prompt)
    return start, record.source_negative or "", turns, answer


def _diff(current: str, target: str) -> str:
    return format_script(script_from_pair(current, target, _quality_words()))


def sft_row(record: Record, fmt: PromptFormat = TRAINED_FORMAT) -> dict[str, list[dict[str, str]]]:
    """One training row: the prompt, the earlier turns, the instruction, and the answer the model should give."""
    if fmt not in SCRIPT_FORMATS:  # the older whole-prompt layouts: the raw source and the beautified target
        history = [Turn(turn.instruction, turn.target) for turn in record.history]
        return training_example(record.source_prompt, record.beautified_target_prompt, record.instruction, history, fmt=fmt)
    start, negative, turns, answer = conversation(record)
    return training_example(start, answer, record.instruction, turns, fmt=fmt, negative=negative)


def sft_rows(records: Iterable[Record], fmt: PromptFormat = TRAINED_FORMAT) -> list[dict[str, list[dict[str, str]]]]:
    """Training rows for every record, in order."""
    return [sft_row(record, fmt) for record in records]


def calibration_rows(records: Sequence[Record], n: int) -> list[dict[str, list[dict[str, str]]]]:
    """The first n trainable records as whole conversations (TRL "messages" rows): what a 4-bit merge is calibrated on."""
    rows = sft_rows([record for record in records if not record.heldout][:n])
    return [{"messages": row["prompt"] + row["completion"]} for row in rows]
