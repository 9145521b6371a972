"""Text-side edit metrics: pure functions, no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trainer.data.schema import Checks, HistoryTurn, Record
from trainer.metrics import (
    derived_checks,
    echoes_instruction,
    is_repetitive,
    score_edit,
    score_record,
    summarize,
    token_f1,
)


def record(**fields) -> Record:
    base = {
        "source_prompt": "a fisherman on a wooden pier with seagulls",
        "instruction": "get rid of the seagulls",
        "beautified_source_prompt": "a fisherman on a wooden pier, seagulls, golden hour",
        "beautified_target_prompt": "a fisherman on a wooden pier, golden hour",
        "category": "remove",
    }
    return Record.model_validate(base | fields)


def test_a_faithful_removal_scores_full_marks():
    checks = Checks(must_exclude=["seagulls"], keep=["fisherman", "pier"])
    score = score_record("a fisherman on a wooden pier, golden hour, highly detailed", record(checks=checks))
    assert score.compliant and score.exclude_rate == 1.0 and score.include_rate is None
    assert score.preservation == 1.0 and score.fluent and score.reward() == 1.0


def test_leftovers_missing_and_lost_content_are_named():
    score = score_edit(
        "a fisherman, seagulls",
        instruction="replace the pier with a beach and drop the seagulls",
        include=["sandy beach"],
        exclude=["seagulls", "pier"],
        keep=["fisherman", "sunset"],
    )
    assert not score.compliant
    assert (score.missing, score.leftover, score.lost) == (["sandy beach"], ["seagulls"], ["sunset"])
    assert score.include_rate == 0.0 and score.exclude_rate == 0.5 and score.compliance == 0.25
    assert score.preservation == 0.5


def test_phrases_match_whole_words_only():
    assert score_edit("a catalog on a desk", instruction="remove the cat", exclude=["cat"]).compliant
    assert not score_edit("a Cat, on a desk", instruction="remove the cat", exclude=["cat"]).compliant


@pytest.mark.parametrize(
    ("target", "instruction", "allowed", "echoed"),
    [
        ("a dog, remove the hat", "remove the hat", "a dog", True),
        ("a queen, after that I'd prefer the hat in maroon", "drone shot, after that I'd prefer the hat in maroon", "a queen, maroon hat", True),
        ("a dog, a red kite in the sky", "add a red kite in the sky", "a dog, red kite", False),
        ("a walker, a top-down flat lay", "shoot it as a top-down flat lay", "top-down flat lay", False),
        ("a house, winter", "winter", "", False),
    ],
)
def test_echoed_instructions(target, instruction, allowed, echoed):
    assert echoes_instruction(target, instruction, allowed) is echoed


def test_repetition_and_length_guards():
    assert is_repetitive("a cat, a dog, a cat")
    assert is_repetitive("a big red barn and a big red barn")
    assert not is_repetitive("a cat on a mat, a dog on a log")
    assert not score_edit(" ".join(["word"] * 3 + [f"w{i}" for i in range(70)]), instruction="x").length_ok
    empty = score_edit("", instruction="add a hat", include=["hat"])
    assert not empty.compliant and not empty.fluent and empty.words == 0


def test_records_without_checks_use_what_the_reference_changed():
    assert derived_checks("a cat on a sofa", "a dog on a sofa, night") == (["dog", "night"], ["cat"], ["sofa"])
    plain = record(beautified_target_prompt="a fisherman on a wooden pier, golden hour")
    assert score_record("a fisherman on a wooden pier", plain).compliant
    assert not score_record("a fisherman on a wooden pier, seagulls", plain).compliant


def test_multi_turn_records_compare_with_the_latest_prompt():
    turn = HistoryTurn(instruction="add a boat", target="a fisherman on a wooden pier, seagulls, a red boat")
    multi = record(history=[turn], beautified_target_prompt="a fisherman on a wooden pier, a red boat")
    score = score_record("a fisherman on a wooden pier, a red boat", multi)
    assert score.compliant and score.preservation == 1.0


def test_token_f1_and_summary():
    assert token_f1("a red kite", "a red kite") == 1.0 and token_f1("a dog", "a cat") == 0.0
    scores = [score_edit("a hat", instruction="add a hat", include=["hat"]), score_edit("", instruction="add a hat", include=["hat"])]
    summary = summarize(scores)
    assert summary["n"] == 2 and summary["compliant"] == 0.5 and summary["empty"] == 0.5
    assert summary["preservation"] is None  # nothing to keep in either


def test_metrics_import_no_torch():
    code = "import sys, trainer.metrics; print([m for m in ('torch', 'transformers', 'llama_cpp') if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
