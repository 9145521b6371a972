"""Deduplication, the seeded split, stats, and SFT rows in THE prompt format."""

from diffchat_tui.core.prompting import TRAINED_FORMAT, Turn, training_example
from trainer.data.schema import Record
from trainer.data.sft_format import sft_row, sft_rows
from trainer.data.tools import deduplicate, split, stats


def record(source: str, instruction: str = "add a hat", **extra) -> Record:
    target = f"{source}, a hat"
    return Record(
        source_prompt=source,
        instruction=instruction,
        beautified_source_prompt=source,
        beautified_target_prompt=target,
        **extra,
    )


def test_dedup_normalizes_case_and_punctuation_and_reports_what_it_dropped():
    records = [
        record("a cat on a sofa"),
        record("A cat, on a sofa!", "Add a hat."),
        record("a cat on a sofa", "add a scarf"),
        record("a cat on a sofa", history=[{"instruction": "make it night", "target": "a cat, night"}]),
    ]
    result = deduplicate(records)
    assert result.records == [records[0], records[2], records[3]]  # another history is another example
    assert result.duplicates == [(1, 0)]


def test_split_is_seeded_order_independent_and_routes_held_out_to_test():
    records = [record(f"a cat number {i}", heldout=i % 10 == 0) for i in range(200)]
    records += [record("a cat number 5", "add a scarf")]  # shares a source with record 5

    first = split(records, 0.2, seed=3)
    again = split(list(reversed(records)), 0.2, seed=3)
    other = split(records, 0.2, seed=4)

    assert {r.source_prompt for r in first.test} == {r.source_prompt for r in again.test}
    assert {r.source_prompt for r in first.test} != {r.source_prompt for r in other.test}
    assert [r for r in records if r.heldout] == [r for r in first.test if r.heldout]
    assert not any(r.heldout for r in first.train)
    assert len(first.train) + len(first.test) == len(records)
    non_heldout_test = sum(not r.heldout for r in first.test)
    assert abs(non_heldout_test - 0.2 * 181) <= 2
    train_sources = {r.source_prompt for r in first.train}
    assert not train_sources & {r.source_prompt for r in first.test}  # a shared source stays on one side


def test_split_with_zero_test_share_keeps_only_held_out_in_test():
    records = [record(f"a dog {i}", heldout=i < 3) for i in range(20)]
    parts = split(records, 0.0, seed=0)
    assert len(parts.test) == 3 and all(r.heldout for r in parts.test)


def test_stats_counts_categories_shares_and_lengths():
    records = [
        record("a cat", category="add", heldout=True),
        record("a big cat", category="add", history=[{"instruction": "make it night", "target": "a big cat, night"}]),
        record("a very big cat", category="remove"),
        record("one more cat"),
    ]
    summary = stats(records)
    assert summary.total == 4
    assert {name: counts.records for name, counts in summary.categories.items()} == {"(none)": 1, "add": 2, "remove": 1}
    assert summary.categories["add"].heldout == 1 and summary.categories["add"].multi_turn == 1
    assert (summary.heldout_share, summary.multi_turn_share) == (0.25, 0.25)
    assert (summary.source_words.minimum, summary.source_words.maximum, summary.source_words.median) == (2, 4, 3)
    assert summary.to_json()["heldout_share"] == 0.25


def test_sft_rows_are_exactly_core_prompting_training_examples():
    single = record("a cat on a sofa")
    turns = [{"instruction": "make it night", "target": "a cat on a sofa, night"}]
    multi = Record(
        source_prompt="cat sofa", instruction="add a hat", beautified_source_prompt="a cat on a sofa",
        beautified_target_prompt="a cat on a sofa, night, a hat", history=turns,
    )  # fmt: skip

    assert sft_row(single) == training_example("a cat on a sofa", "+ a hat", "add a hat", fmt=TRAINED_FORMAT)
    # a released-format record: the edit starts from beautified_source_prompt, each turn's script by diff
    assert sft_row(multi) == training_example(
        "a cat on a sofa", "+ a hat", "add a hat", [Turn("make it night", "a cat on a sofa, night", "+ night")]
    )
    rows = sft_rows([single, multi])
    assert rows[1]["prompt"][-1] == {"role": "user", "content": "Instruction: add a hat"}
    assert rows[1]["completion"] == [{"role": "assistant", "content": "+ a hat"}]


def test_our_records_train_on_their_own_scripts_from_the_raw_prompt():
    ours = Record(
        source_prompt="a cat on a sofa", instruction="add a hat", beautified_source_prompt="a cat on a sofa, masterpiece",
        beautified_target_prompt="a cat on a sofa, a hat, masterpiece", edit_script="+ a hat\n* masterpiece",
    )  # fmt: skip
    assert sft_row(ours) == training_example("a cat on a sofa", "+ a hat\n* masterpiece", "add a hat")


def test_a_script_that_does_not_lead_to_the_target_is_a_bad_row():
    import pytest

    with pytest.raises(ValueError, match="edit_script's script does not lead to its target"):
        record("a cat on a sofa", edit_script="+ a scarf")


def test_older_whole_prompt_layouts_still_train_on_targets():
    row = sft_row(record("a cat on a sofa"), fmt="diffchat-v1")
    assert row["completion"] == [{"role": "assistant", "content": "a cat on a sofa, a hat"}]
