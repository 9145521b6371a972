"""Deduplication, a seeded train/test split and dataset statistics."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from diffchat_tui.core.prompting import comparable
from trainer.data.schema import Record

UNCATEGORIZED = "(none)"


def record_key(record: Record) -> tuple[str, ...]:
    """What makes two records the same example: source, earlier instructions and instruction, normalized.

    Earlier turns count because the same last instruction after a different conversation is
    a different example.
    """
    earlier = tuple(comparable(turn.instruction) for turn in record.history)
    return (comparable(record.source_prompt), *earlier, comparable(record.instruction))


@dataclass
class Deduplicated:
    """The first record of each key, in order, and for every dropped one: (its index, the index it repeats)."""

    records: list[Record]
    duplicates: list[tuple[int, int]] = field(default_factory=list)


def deduplicate(records: Sequence[Record]) -> Deduplicated:
    """Keep the first record of each normalized (source, instructions) key."""
    first_seen: dict[tuple[str, ...], int] = {}
    result = Deduplicated([])
    for index, record in enumerate(records):
        key = record_key(record)
        if key in first_seen:
            result.duplicates.append((index, first_seen[key]))
            continue
        first_seen[key] = index
        result.records.append(record)
    return result


@dataclass
class Split:
    train: list[Record]
    test: list[Record]


def split(records: Sequence[Record], test_frac: float, seed: int) -> Split:
    """A seeded train/test split; held-out records always go to test.

    Records that share a source prompt stay on one side, so a test source was never seen in
    training. The result depends on the records and the seed, not on the order of the file.
    """
    if not 0.0 <= test_frac < 1.0:
        raise ValueError("test_frac must be in [0, 1)")
    groups: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(comparable(record.source_prompt), []).append(index)
    forced = {key for key, members in groups.items() if any(records[i].heldout for i in members)}
    free = sorted(key for key in groups if key not in forced)
    random.Random(seed).shuffle(free)

    wanted = round(test_frac * sum(1 for record in records if not record.heldout))
    test_keys = set(forced)
    taken = sum(1 for key in forced for i in groups[key] if not records[i].heldout)
    for key in free:
        if taken >= wanted:
            break
        test_keys.add(key)
        taken += len(groups[key])
    test_indices = {i for key in test_keys for i in groups[key]}
    return Split(
        train=[record for i, record in enumerate(records) if i not in test_indices],
        test=[record for i, record in enumerate(records) if i in test_indices],
    )


@dataclass(frozen=True)
class Lengths:
    """Word counts of one field over the dataset."""

    minimum: int
    mean: float
    median: float
    maximum: int

    @classmethod
    def of(cls, counts: Sequence[int]) -> Lengths:
        if not counts:
            return cls(0, 0.0, 0.0, 0)
        return cls(min(counts), statistics.fmean(counts), statistics.median(counts), max(counts))


@dataclass(frozen=True)
class CategoryStats:
    records: int
    heldout: int
    multi_turn: int


@dataclass(frozen=True)
class Stats:
    """Counts per category, multi-turn and held-out shares, and prompt lengths in words."""

    total: int
    categories: dict[str, CategoryStats]
    heldout: int
    multi_turn: int
    with_checks: int
    source_words: Lengths
    instruction_words: Lengths
    target_words: Lengths

    @property
    def heldout_share(self) -> float:
        return self.heldout / self.total if self.total else 0.0

    @property
    def multi_turn_share(self) -> float:
        return self.multi_turn / self.total if self.total else 0.0

    def to_json(self) -> dict:
        """Plain data for `--json` output."""
        from dataclasses import asdict

        return {**asdict(self), "heldout_share": self.heldout_share, "multi_turn_share": self.multi_turn_share}


def stats(records: Sequence[Record]) -> Stats:
    """Summarize a dataset."""
    per_category: dict[str, Counter[str]] = {}
    for record in records:
        counter = per_category.setdefault(record.category or UNCATEGORIZED, Counter())
        counter["records"] += 1
        counter["heldout"] += record.heldout
        counter["multi_turn"] += bool(record.history)
    return Stats(
        total=len(records),
        categories={
            name: CategoryStats(c["records"], c["heldout"], c["multi_turn"]) for name, c in sorted(per_category.items())
        },
        heldout=sum(record.heldout for record in records),
        multi_turn=sum(bool(record.history) for record in records),
        with_checks=sum(record.checks is not None for record in records),
        source_words=Lengths.of([len(record.source_prompt.split()) for record in records]),
        instruction_words=Lengths.of([len(record.instruction.split()) for record in records]),
        target_words=Lengths.of([len(record.beautified_target_prompt.split()) for record in records]),
    )
