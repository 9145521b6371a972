"""The offline builder's invariants, checked over a few thousand built records."""

import re
from collections import Counter

import pytest

from diffchat_tui.core.edit_script import apply_script, parse_script
from diffchat_tui.core.prompt_syntax import parse
from diffchat_tui.core.prompting import comparable
from trainer.data.builder import CATEGORIES, INSTRUCTION_WORDS, build
from trainer.data.schema import PhraseIndex, contains_phrase
from trainer.data.tools import record_key
from trainer.data.vocab import load_vocab
from trainer.realworld import load_cases

N = 3600
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


def test_registers_and_syntax_look_like_real_use(drafts):
    registers = Counter(draft.register for draft in drafts)
    assert set(registers) == {"sentence", "tags", "community", "booru"}
    assert all(count > N * 0.1 for count in registers.values())
    community = [d.record.source_prompt for d in drafts if d.register == "community"]
    assert sorted(len(text.split()) for text in community)[len(community) // 2] >= 30  # long prompts are long
    with_syntax = [d for d in drafts if parse(d.record.source_prompt).syntax_elements()]
    assert 0.25 < len(with_syntax) / N < 0.6
    kinds = " ".join(d.record.source_prompt for d in with_syntax)
    for mark in ("<lora:", "__", "BREAK", ":1.", "{", "[", "(("):
        assert mark in kinds


def test_multi_turn_conversations_reach_five_turns_and_revisit(records):
    turns = Counter(len(record.history) for record in records if record.history)
    assert {1, 2, 3, 4} <= set(turns)
    assert 0.25 <= sum(turns.values()) / N <= 0.35
    revisits = [r for r in records if r.category == "revisit"]
    assert revisits and all(r.history and r.checks.must_include for r in revisits)


def test_every_script_applies_to_its_prompt_and_gives_the_target(records):
    for record in records:
        current, negative = record.source_prompt, record.source_negative or ""
        steps = [(t.script, t.target, t.negative) for t in record.history]
        for script, target, after in [*steps, (record.edit_script, record.beautified_target_prompt, record.target_negative)]:
            parsed = parse_script(script)
            applied = apply_script(current, parsed.ops, negative=negative)
            assert not parsed.errors and applied.clean and applied.prompt == target, (current, script, target)
            assert applied.negative == (after or ""), (negative, script, after)
            current, negative = target, after or ""


def test_targets_pass_their_checks_and_untouched_syntax_survives(records):
    for record in records:
        target, checks = record.beautified_target_prompt, record.checks
        assert checks.failures(target) == [], record
        if record.category not in ("beautify", "weight", "negative"):
            assert checks.must_include or checks.must_exclude
        assert checks.keep or checks.must_exclude or checks.exact or checks.negative_include or checks.negative_exclude, record
        before = parse(record.history[-1].target if record.history else record.source_prompt)
        atoms = [before.unit_text(u) for u in before.units if u.kind in ("atom", "keyword")]
        assert all(atom in target for atom in atoms), record  # edits never aim at LoRA tags, wildcards, BREAK ...
        assert parse(target).structured


def test_negative_requests_land_in_the_negative_prompt(records):
    negative = [r for r in records if r.category == "negative"]
    assert negative and all(r.target_negative for r in negative)
    for record in negative:
        assert record.edit_script.startswith("!"), record  # never a positive-prompt edit
        for tag in record.checks.negative_include:  # "no X" when X is absent from the prompt: X is kept out
            assert not contains_phrase(record.history[-1].target if record.history else record.source_prompt, tag)
    assert sum(bool(r.source_negative) for r in records) > 0.15 * N


def _cue_phrases() -> set[str]:
    vocab = load_vocab()
    entries = [*vocab.pools("atmosphere", "time").pick(None), *vocab.pools("atmosphere", "weather").pick(None)]
    entries += [*vocab.pools("extras", "mood").pick(None), *vocab.pools("booru", "time_cues").train]
    return {cue for entry in entries for cue in entry["cues"]}


def test_a_new_time_weather_or_mood_leaves_none_of_the_old_ones_phrases(records):
    """`make it a stormy night` on `..., clear blue sky, bright midday sun`: every phrase of the old mood goes."""
    cues = _cue_phrases()
    changes = [r for r in records if r.category in ("atmosphere", "mood")]
    said_twice = 0
    for record in changes:
        before = PhraseIndex(record.history[-1].target if record.history else record.source_prompt)
        stated = [cue for cue in cues if before.has(cue)]
        gone = [cue for cue in stated if cue in record.checks.must_exclude]
        for cue in gone:  # what the checks say must go, the script takes out
            assert not contains_phrase(record.beautified_target_prompt, cue), record
        said_twice += len(gone) > 0 and len(record.edit_script.splitlines()) > 1
    assert said_twice > 0.1 * len(changes)  # many changes touch several phrases, not one
    both = [r for r in records if r.category == "atmosphere" and len(r.checks.must_include) == 2 and not r.history]
    assert len(both) > 0.05 * len([r for r in records if r.category == "atmosphere"])  # "a foggy dawn": time and weather


def test_a_new_booru_season_replaces_the_old_one(drafts):
    """`winter` on `day, summer`: no `summer` is left, and `day` stays."""
    seasons = set(load_vocab().pools("booru", "season").pick(None))
    changes = [d.record for d in drafts if d.register == "booru" and d.record.category == "atmosphere" and not d.record.history]
    reseasoned = [r for r in changes if r.checks.must_include[0] in seasons]
    assert 0.1 * len(changes) < len(reseasoned) < 0.5 * len(changes), (len(reseasoned), len(changes))
    for record in reseasoned:
        (new,) = record.checks.must_include
        assert [s for s in seasons if contains_phrase(record.beautified_target_prompt, s)] == [new], record
        for old in record.checks.must_exclude:
            assert old in seasons and contains_phrase(record.source_prompt, old), record


def test_a_new_booru_mood_takes_every_tag_of_the_old_one(drafts):
    """`peaceful` on `gloomy, dreary, bleak`: all three go."""
    moods = load_vocab().pools("extras", "mood").pick(None)
    words = {word for entry in moods for word in (entry["key"], *entry["cues"])}
    changes = [d.record for d in drafts if d.register == "booru" and d.record.category == "mood" and not d.record.history]
    several = 0
    for record in changes:
        stated = [word for word in words if contains_phrase(record.source_prompt, word)]
        assert set(stated) <= set(record.checks.must_exclude), record
        assert not any(contains_phrase(record.beautified_target_prompt, word) for word in stated), record
        several += len(stated) > 1
    assert len(changes) > 20 and several > 0.2 * len(changes), (several, len(changes))


def test_a_booru_thing_goes_with_the_holding_tag_that_names_it(drafts):
    """`kill the umbrella` on `umbrella, holding umbrella`: both tags go; a new thing is held in its place."""
    edits = [d.record for d in drafts if d.register == "booru" and d.record.category in ("remove", "replace") and not d.record.history]
    held = [r for r in edits if any(contains_phrase(r.source_prompt, f"holding {old}") for old in r.checks.must_exclude)]
    assert len(held) >= 8 and {r.category for r in held} == {"remove", "replace"}
    for record in held:
        (old,) = record.checks.must_exclude
        assert not contains_phrase(record.beautified_target_prompt, f"holding {old}"), record
        assert any(line.endswith(f"holding {old}") or f"holding {old} ->" in line for line in record.edit_script.splitlines()), record


def test_sources_state_moods_and_times_as_pasted_prompts_do(drafts):
    cues = _cue_phrases()
    sources = [d.record.source_prompt for d in drafts if d.register != "sentence"]
    with_cues = [text for text in sources if any(contains_phrase(text, cue) for cue in cues)]
    assert 0.05 * len(sources) < len(with_cues) < 0.5 * len(sources)
    mood_sources = [d.record for d in drafts if d.record.category == "mood" and d.register != "sentence"]
    replaced = [r for r in mood_sources if r.checks.must_exclude]
    assert len(replaced) > 0.4 * len(mood_sources)  # most mood requests change a mood the prompt already has


def test_cues_are_often_said_far_from_their_tag(drafts):
    """`at midday, clear blue sky, ..., 8k, bright midday sun`: a change must look past the next phrase."""
    vocab = load_vocab()
    entries = [*vocab.pools("atmosphere", "time").pick(None), *vocab.pools("atmosphere", "weather").pick(None)]
    near = far = 0
    for draft in drafts:
        if draft.register not in ("tags", "community"):
            continue
        phrases = [comparable(phrase) for phrase in draft.record.source_prompt.split(",")]
        for entry in entries:
            if comparable(entry["tag"]) not in phrases:
                continue
            at = phrases.index(comparable(entry["tag"]))
            for cue in (comparable(cue) for cue in entry["cues"] if comparable(cue) in phrases):
                if abs(phrases.index(cue) - at) > len(entry["cues"]):
                    far += 1
                else:
                    near += 1
    assert far > 0.15 * (near + far) and near > 0.3 * (near + far), (near, far)


def test_a_thing_that_has_a_place_moves_and_leaves_its_old_place(records):
    """`put the windmill in front` on `an old windmill in the background`: the background goes."""
    places = load_vocab().pools("extras", "position").pick(None)
    moves = [r for r in records if r.category == "position" and not r.history]
    moved = [r for r in moves if any(place in phrase for phrase in r.checks.must_exclude for place in places)]
    assert 0.2 * len(moves) < len(moved) < 0.8 * len(moves)
    for record in moved:
        for phrase in record.checks.must_exclude:
            assert contains_phrase(record.source_prompt, phrase), record
            assert not contains_phrase(record.beautified_target_prompt, phrase), record


def test_a_new_style_takes_the_old_mediums_words_with_it(drafts):
    """`claymation` on `cinematic photo, ..., octane render` or on booru `anime coloring, 3d`: no old medium stays."""
    vocab = load_vocab()
    medium = {w for group in ("render", "lens", "film") for w in vocab.pools("media", group).pick(None)}
    medium |= set(vocab.pools("booru", "style").pick(None))
    changes = [d for d in drafts if d.record.category == "style" and not d.record.history and d.register in ("community", "booru")]
    cleared = 0
    for draft in changes:
        record = draft.record
        parsed = parse(record.source_prompt)  # an atom such as `{anime|realistic}` is syntax, and survives untouched
        outside = "".join(" " if any(u.kind == "atom" and u.start <= i < u.end for u in parsed.units) else c for i, c in enumerate(parsed.text))
        stated = [word for word in medium if contains_phrase(outside, word)]
        gone = [word for word in stated if word in record.checks.must_exclude]
        for word in gone:
            assert not contains_phrase(record.beautified_target_prompt, word), record
        cleared += len(gone) > 0 and len(record.edit_script.splitlines()) > 1
        if draft.register == "booru":  # a booru style change leaves no old style tag at all
            assert set(stated) <= set(record.checks.must_exclude), record
    assert cleared > 0.3 * len(changes), (cleared, len(changes))
    artists = vocab.pools("artists", "all").pick(None)
    assert any(contains_phrase(d.record.beautified_target_prompt, artist) for d in changes for artist in artists)


def test_a_thing_that_has_a_size_gets_the_other_size_or_a_normal_one(records):
    """`make the dragon big enough to ride` on `a tiny dragon`: `tiny` goes, and no `a big tiny dragon`."""
    vocab = load_vocab()
    big, small = (vocab.pools("extras", f"size_{kind}").pick(None) for kind in ("big", "small"))
    resizes = [r for r in records if r.category == "size" and not r.history]
    resized = [r for r in resizes if r.checks.must_exclude]
    assert 0.2 * len(resizes) < len(resized) < 0.8 * len(resizes), (len(resized), len(resizes))
    normal = 0
    for record in resized:
        (old,) = record.checks.must_exclude
        assert contains_phrase(record.source_prompt, old) and not contains_phrase(record.beautified_target_prompt, old)
        old_size = next(word for word in (*big, *small) if old.startswith(word + " "))
        thing = old.removeprefix(old_size + " ")
        new = PhraseIndex(record.beautified_target_prompt)
        assert not any(new.has(f"{word} {thing}") for word in (big if old_size in big else small)), record
        normal += not any(new.has(f"{word} {thing}") for word in (*big, *small))
    assert normal > 0.1 * len(resized)


def test_a_thing_the_prompt_counts_can_become_one(drafts):
    """`only one cat` on `three cats`: the count goes and one cat stays."""
    counts = [d.record for d in drafts if d.record.category == "count" and not d.record.history and d.register != "booru"]
    to_one = [r for r in counts if r.checks.must_exclude]
    assert 0.1 * len(counts) < len(to_one) < 0.6 * len(counts), (len(to_one), len(counts))
    for record in to_one:
        (many,) = record.checks.must_exclude
        assert contains_phrase(record.source_prompt, many) and not contains_phrase(record.beautified_target_prompt, many)
        assert contains_phrase(record.beautified_target_prompt, record.checks.must_include[0]), record


def test_booru_characters_are_counted_in_tags(drafts):
    """`1girl, solo` -> two girls: `2girls, multiple girls` and no `solo`; `2girls, multiple girls` -> one: `1girl` alone."""
    counts = [d.record for d in drafts if d.register == "booru" and d.record.category == "count" and not d.record.history]
    assert len(counts) > 0.15 * len([d for d in drafts if d.record.category == "count" and not d.record.history])
    ones = 0
    for record in counts:
        (new,) = record.checks.must_include
        target = record.beautified_target_prompt
        assert contains_phrase(target, new) and contains_phrase(record.source_prompt, record.checks.must_exclude[0]), record
        if new.startswith("1"):
            ones += 1
            assert not contains_phrase(target, "multiple girls") and not contains_phrase(target, "multiple boys"), record
        else:
            assert not contains_phrase(target, "solo"), record
    assert 0 < ones < len(counts)


def test_a_new_booru_pose_or_face_takes_what_said_the_old_one(drafts):
    """`sitting` on `standing, hands in pockets`: both go; `waving` on `standing, crossed arms`: the stance
    stays; `smile` on `crying, streaming tears`: both go."""
    vocab = load_vocab()
    stances, gestures, expressions = (set(vocab.pools("booru", group).pick(None)) for group in ("pose", "gesture", "expression"))
    faces = {cue for entry in vocab.pools("booru", "face_cues").pick(None) for cue in entry["cues"]}
    changes = [d.record for d in drafts if d.register == "booru" and d.record.category == "pose" and not d.record.history]
    posed = gestured = faced = 0
    for record in changes:
        new = record.checks.must_include[0]
        held, looks = ([tag for tag in pool if contains_phrase(record.source_prompt, tag)] for pool in (gestures, faces))
        if new in stances:
            posed += bool(held)
            assert set(held) <= set(record.checks.must_exclude), record
        elif new in gestures:
            gestured += 1
            kept = [tag for tag in stances if contains_phrase(record.source_prompt, tag)]
            assert all(contains_phrase(record.beautified_target_prompt, tag) for tag in kept), record
        elif new in expressions:
            faced += bool(looks)
            assert set(looks) <= set(record.checks.must_exclude), record
        for tag in record.checks.must_exclude:
            assert not contains_phrase(record.beautified_target_prompt, tag), record
    assert min(posed, gestured, faced) > 0.05 * len(changes), (posed, gestured, faced, len(changes))


def test_a_new_pose_takes_the_stated_gesture_with_it(drafts):
    """`standing` on `a knight, ..., arms folded`: the gesture goes too; a new expression leaves it."""
    vocab = load_vocab()
    gestures, expressions = (set(vocab.pools("extras", group).pick(None)) for group in ("gesture", "expression"))
    changes = [d.record for d in drafts if d.register in ("tags", "community") and d.record.category == "pose" and not d.record.history]
    stated = [(r, g) for r in changes for g in gestures if contains_phrase(r.source_prompt, g)]
    assert len(stated) > 0.2 * len(changes), (len(stated), len(changes))
    kept = 0
    for record, gesture in stated:
        if record.checks.must_include[0] in expressions:
            kept += 1
            assert contains_phrase(record.beautified_target_prompt, gesture), record
        else:
            assert gesture in record.checks.must_exclude and not contains_phrase(record.beautified_target_prompt, gesture), record
    assert 0 < kept < len(stated)


def test_sign_text_is_there_to_be_copied_not_recalled(records):
    """Training records ask for many different words on signs, some on things the prompt already has."""
    texts = [r for r in records if r.category == "text" and not r.heldout]
    written = {quoted for r in texts for quoted in re.findall(r'"([^"]+)"', r.edit_script)}
    assert len(written) > 0.5 * len(texts)
    relabelled = [r for r in texts if r.edit_script.startswith("~ ") and "reads" not in r.edit_script.split("->")[0]]
    assert len(relabelled) > 0.1 * len(texts)


def test_removals_use_many_everyday_phrasings(drafts):
    used = {template for draft in drafts for (category, _, template) in draft.templates if category == "remove"}
    assert len(used) >= 30


def test_quality_words_are_their_own_op_on_the_first_turn_only(records):
    first_turns = [r for r in records if not r.history]
    with_quality = [r for r in first_turns if "\n* " in "\n" + r.edit_script]
    assert len(with_quality) > 0.4 * len(first_turns)
    assert not any("\n* " in "\n" + r.edit_script for r in records if r.history and r.category != "beautify")


def test_prompts_never_copy_the_words_of_requests(records):
    for record in records:
        for prompt in [record.beautified_target_prompt, *(turn.target for turn in record.history)]:
            index = PhraseIndex(prompt)
            copied = [word for word in REQUEST_WORDS if index.has(word) and not PhraseIndex(record.source_prompt).has(word)]
            assert not copied, (prompt, copied)


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
    assert len(heldout_words) > 150
    seen_in_heldout = set()
    for record in records:
        for text in texts(record):
            index = PhraseIndex(text)
            found = [word for word in heldout_words if index.has(word)]
            if record.heldout:
                seen_in_heldout.update(found)
            else:
                assert not found, (text, found)
    assert len(seen_in_heldout) > len(heldout_words) * 0.5  # the held-out records do use them


def test_records_are_distinct_and_never_the_real_world_set(records):
    assert len({record_key(r) for r in records}) == N
    real = {case.source for case in load_cases()}
    assert not real & {r.source_prompt for r in records}
    for case in load_cases():  # no real-world source is a training prompt with a different case
        assert not any(contains_phrase(r.source_prompt, case.source) for r in records[:200])


def test_same_seed_same_records_other_seed_other_records():
    first = [d.record.to_json() for d in build(300, seed=11)]
    assert first == [d.record.to_json() for d in build(300, seed=11)]
    assert first != [d.record.to_json() for d in build(300, seed=12)]
