"""The offline builder's invariants, checked over a few thousand built records."""

from collections import Counter

import pytest

from diffchat_tui.core.prompting import MAX_TARGET_WORDS
from trainer.data.builder import INSTRUCTION_WORDS, build
from trainer.data.edits import CATEGORIES
from trainer.data.schema import PhraseIndex, contains_phrase
from trainer.data.tools import record_key
from trainer.data.vocab import load_vocab

N = 3000
REQUEST_WORDS = (*INSTRUCTION_WORDS, "get rid of", "instead of", "take out", "i dont want", "can it be", "let the")


@pytest.fixture(scope="module")
def drafts():
    return build(N, seed=7)


@pytest.fixture(scope="module")
def records(drafts):
    return [draft.record for draft in drafts]


def texts(record) -> list[str]:
    fields = [record.source_prompt, record.instruction, record.beautified_source_prompt, record.beautified_target_prompt]
    return fields + [text for turn in record.history for text in (turn.instruction, turn.target)]


def test_every_category_is_present_and_balanced(records):
    counts = Counter(record.category for record in records)
    assert set(counts) == set(CATEGORIES)
    assert max(counts.values()) - min(counts.values()) <= 1
    heldout = Counter(record.category for record in records if record.heldout)
    assert max(heldout.values()) - min(heldout.values()) <= 1


def test_shares_of_held_out_and_multi_turn_records(records):
    assert abs(sum(r.heldout for r in records) / N - 0.15) < 0.01
    multi_turn = [r for r in records if r.history]
    assert 0.20 <= len(multi_turn) / N <= 0.25
    assert {len(r.history) for r in multi_turn} == {1, 2}


def test_each_category_has_at_least_twelve_phrasings_plus_held_out_ones():
    vocab = load_vocab()
    for category in CATEGORIES:
        kinds = vocab.phrasings[category].values()
        assert all(len(pools.train) >= 12 and len(pools.heldout) >= 3 for pools in kinds), category


def test_phrasings_in_use_cover_the_casual_ones(drafts):
    used = {template for draft in drafts for (_, _, template) in draft.templates}
    for casual in ("no {bare} please", "get rid of {the}", "I want {new} instead of {old}", "turn {old} into {new}",
                   "can you make it {say}", "lose {the}"):  # fmt: skip
        assert casual in used


def test_targets_pass_their_checks_and_every_edit_is_exact(records):
    for record in records:
        target, source = record.beautified_target_prompt, record.beautified_source_prompt
        checks = record.checks
        assert checks.failures(target) == [], record
        if record.category == "remove" and not record.history:
            (gone,) = checks.must_exclude
            assert contains_phrase(source, gone) and not contains_phrase(target, gone)
        if record.category == "add" and not record.history:
            (new,) = checks.must_include
            assert not contains_phrase(source, new) and contains_phrase(target, new)
        if record.category == "replace" and not record.history:
            (new,), (old,) = checks.must_include, checks.must_exclude
            assert contains_phrase(source, old) and not contains_phrase(target, old) and contains_phrase(target, new)
        if record.category not in ("beautify",):
            assert checks.must_include or checks.must_exclude
        if record.category == "beautify":
            assert len(target.split()) > len(source.split())
        assert checks.keep or checks.must_exclude, record  # only replacing a lone subject leaves nothing to keep
        assert len(target.split()) <= MAX_TARGET_WORDS


def test_prompts_never_copy_the_words_of_requests(records):
    for record in records:
        prompts = [record.beautified_source_prompt, record.beautified_target_prompt, record.source_prompt]
        prompts += [turn.target for turn in record.history]
        for prompt in prompts:
            index = PhraseIndex(prompt)
            copied = [word for word in REQUEST_WORDS if index.has(word)]
            assert not copied, (prompt, copied)


def test_multi_turn_history_leads_to_the_target(records):
    for record in (r for r in records if r.history):
        chain = [record.beautified_source_prompt, *(turn.target for turn in record.history), record.beautified_target_prompt]
        assert all(before != after for before, after in zip(chain, chain[1:])), chain  # every turn changed something


def test_held_out_phrasings_never_appear_in_training_records(drafts):
    vocab = load_vocab()
    heldout = {(c, k, t) for c, kinds in vocab.phrasings.items() for k, pools in kinds.items() for t in pools.heldout}
    for draft in drafts:
        used = set(draft.templates)
        if not draft.record.heldout:
            assert not used & heldout
        else:  # the last turn's phrasings (those after the context turns) are all held out
            last = draft.templates[len(draft.record.history) :]
            assert last and set(last) <= heldout


def test_held_out_vocabulary_never_appears_in_training_records(records):
    heldout_words = load_vocab().heldout_words()
    assert len(heldout_words) > 60
    seen_in_heldout = set()
    for record in records:
        for text in texts(record):
            index = PhraseIndex(text)
            found = [word for word in heldout_words if index.has(word)]
            if record.heldout:
                seen_in_heldout.update(found)
            else:
                assert not found, (text, found)
    assert len(seen_in_heldout) > len(heldout_words) * 0.8  # the held-out records do use them


def test_sources_mix_sentences_and_tag_lists_and_all_records_are_distinct(records):
    sentences = sum("," not in r.source_prompt for r in records)
    assert 0.3 < sentences / N < 0.7
    assert len({record_key(r) for r in records}) == N
    assert len({r.source_prompt for r in records}) > 0.9 * N


def test_same_seed_same_records_other_seed_other_records():
    first = [d.record.to_json() for d in build(300, seed=11)]
    assert first == [d.record.to_json() for d in build(300, seed=11)]
    assert first != [d.record.to_json() for d in build(300, seed=12)]
