"""The offline InstructPE builder: prompts written the way people write them, edited by scripts.

A record's source is a sentence, a short tag list, a long community prompt or booru tags,
often with A1111 syntax in it. Each turn's edit is a script (core.edit_script) that quotes
the prompt, and the target is that script applied, so untouched text and syntax come out byte
for byte. The first turn also adds quality words (a `*` op) when the prompt has none; that
is the paper's beautifier, as an operation of its own.

Every record is checked before it is kept: its scripts apply cleanly, the target passes its
own checks and copies no instruction words. Records are independent draws seeded by
(seed, index), so a build is the same for a seed on any machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from diffchat_tui.core.edit_script import Op, apply_script, format_script
from diffchat_tui.core.prompt_syntax import parse
from trainer.data import booru, registers
from trainer.data.draw import Draw, Edit, Register
from trainer.data.edits import BASIC, MAX_OBJECTS, Tally, combine, lower_first, named_words, new_object, stated_mood
from trainer.data.edits_more import MORE, revisit
from trainer.data.negative import negative, negative_source
from trainer.data.scene import Scene, Thing
from trainer.data.schema import Checks, HistoryTurn, PhraseIndex, Record, contains_phrase
from trainer.data.tools import record_key
from trainer.data.vocab import Vocab, load_vocab

CATEGORIES = (
    "add", "remove", "replace", "style", "atmosphere", "colour", "camera", "beautify",
    "size", "count", "text", "position", "pose", "mood", "weight", "negative", "multi", "revisit",
)  # fmt: skip
SINGLE_EDITS = ("add", "remove", "replace", "style", "atmosphere", "colour", "camera", "size", "count", "position", "pose", "mood")
"""What a multi edit combines."""
INSTRUCTION_WORDS = (
    "make it", "make the", "make this", "remove", "get rid", "please", "instead", "add", "replace",
    "change", "swap", "switch", "lose", "delete", "erase", "turn it", "turn the", "can you", "could you",
    "i want", "id like", "lets", "should", "put it", "move it", "recolor", "restyle", "how about",
)  # fmt: skip
"""Words of requests, not of prompts: a target containing one has copied the instruction."""
EARLIER_TURNS = (1, 1, 1, 2, 2, 3, 4)
"""Context turns of a multi-turn record: most have one or two, some make a 4- or 5-turn conversation."""
MAX_ATTEMPTS = 300


@dataclass
class Draft:
    """A built record plus what the builder knows about it and the file does not say."""

    record: Record
    mentions: list[tuple[str, ...]]
    """Phrases the last instruction names (any form of each): a paraphrase must keep them all."""
    templates: list[tuple[str, str, str]] = field(default_factory=list)
    """(category, kind, template) of every phrasing the record used, earlier turns included."""
    register: Register = "tags"


def plan(n: int, seed: int, heldout_frac: float, multi_turn_frac: float) -> list[tuple[str, bool, int]]:
    """(category, held out, earlier turns) for each record: categories and held-out shares balanced exactly."""
    rng = random.Random(f"diffchat-plan:{seed}")
    order = list(CATEGORIES)
    rng.shuffle(order)
    rows: list[tuple[str, bool]] = []
    for position, category in enumerate(order):
        count = n // len(order) + (position < n % len(order))
        held = round(count * heldout_frac)
        rows += [(category, index < held) for index in range(count)]
    turned = set(rng.sample(range(n), round(n * multi_turn_frac)))
    planned = []
    for index, (category, heldout) in enumerate(rows):
        earlier = rng.choice(EARLIER_TURNS) if index in turned or category == "revisit" else 0
        planned.append((category, heldout, earlier))
    rng.shuffle(planned)
    return planned


def build(
    n: int,
    seed: int = 0,
    *,
    heldout_frac: float = 0.15,
    multi_turn_frac: float = 0.22,
    vocab: Vocab | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Draft]:
    """Build n distinct records, deterministically for a seed."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if not 0.0 <= heldout_frac <= 1.0 or not 0.0 <= multi_turn_frac <= 1.0:
        raise ValueError("fractions must be in [0, 1]")
    vocab = vocab or load_vocab()
    seen: set[tuple[str, ...]] = set()
    drafts = []
    for index, (category, heldout, earlier) in enumerate(plan(n, seed, heldout_frac, multi_turn_frac)):
        rng = random.Random(f"diffchat-record:{seed}:{index}")
        draft = draw_record(rng, vocab, category, heldout, earlier, seen)
        seen.add(record_key(draft.record))
        drafts.append(draft)
        if progress is not None:
            progress(index + 1)
    return drafts


def draw_record(
    rng: random.Random, vocab: Vocab, category: str, heldout: bool, earlier: int, seen: set[tuple[str, ...]]
) -> Draft:
    """Draw until a record passes every check and is new; the retries are part of the seeded sequence."""
    for _ in range(MAX_ATTEMPTS):
        draft = _attempt(rng, vocab, category, heldout, earlier)
        if draft is not None and record_key(draft.record) not in seen:
            return draft
    raise RuntimeError(f"no valid {category} record after {MAX_ATTEMPTS} draws; the vocabularies are too small")


def _register(rng: random.Random, category: str) -> Register:
    weights = dict(registers.REGISTER_WEIGHTS)
    if category not in booru.BOORU and category not in ("multi", "revisit", "negative"):
        weights.pop("booru")
    if category == "weight":
        weights.pop("sentence")
    return rng.choices(list(weights), weights=list(weights.values()))[0]  # type: ignore[return-value]


def _attempt(rng: random.Random, vocab: Vocab, category: str, heldout: bool, earlier: int) -> Draft | None:
    register = _register(rng, category)
    draw = Draw(rng, vocab, heldout, register)
    context = Draw(rng, vocab, False, register, templates=draw.templates)  # context turns use training pools
    edits = {**(booru.BOORU if register == "booru" else {**BASIC, **MORE}), "negative": negative}
    singles = [c for c in SINGLE_EDITS if c in edits]
    parts = rng.sample(singles, 3 if rng.random() < 0.25 else 2) if category == "multi" else [category]

    state, source = _source(draw, parts)
    if state is None:
        return None
    source = _vary_case(source, rng, 0.15)
    state.negative = negative_source(draw)
    source_negative = ", ".join(state.negative)
    quality = _quality(state, draw)
    tally, turns, text, neg = Tally(), [], source, source_negative
    for turn in range(earlier):
        wanted = "remove" if category == "revisit" and turn == earlier - 1 else None
        state.text = text
        edit = _context_edit(state, context, edits, wanted)
        if edit is None:
            return None
        ops = _ops(edit, quality if turn == 0 else [])
        stepped = _step(state, text, neg, ops)
        if stepped is None:
            return None
        text, neg = stepped
        tally.apply(edit)
        turns.append(HistoryTurn(instruction=edit.instruction, target=text, script=format_script(ops), negative=neg or None))
    state.text = text
    if category == "revisit":
        edit = booru.revisit(state, draw) if register == "booru" else revisit(state, draw)
    elif category == "multi":
        edit = _multi(state, draw, edits, parts)
    else:
        edit = edits[category](state, draw)
    if edit is None:
        return None
    ops = _ops(edit, quality if not turns else [])
    stepped = _step(state, text, neg, ops)
    if stepped is None:
        return None
    target, target_negative = stepped
    tally.apply(edit)
    checks = _checks(state, source, text, target, target_negative, tally, edit)
    if checks is None:
        return None
    record = Record(
        source_prompt=source,
        instruction=_vary_case(edit.instruction, rng, 0.15),
        beautified_source_prompt=apply_script(source, [Op("quality", ", ".join(quality))]).prompt if quality else source,
        beautified_target_prompt=target,
        category=category,
        history=turns,
        checks=checks,
        heldout=heldout,
        edit_script=format_script(ops),
        source_negative=source_negative or None,
        target_negative=target_negative if source_negative or target_negative or any(t.negative for t in turns) else None,
    )
    return Draft(record, edit.mentions, draw.templates, register)


def _source(draw: Draw, parts: list[str]) -> tuple[Scene | booru.Tags | None, str]:
    if draw.register == "booru":
        tags = booru.booru_prompt(draw, parts)
        return tags, registers.sprinkle(booru.render(tags), tags.weighted, draw)
    scene = source_scene(draw, parts)
    if scene is None:
        return None, ""
    if draw.register == "sentence":
        return scene, registers.sentence_prompt(scene, draw)
    if draw.register == "community":
        registers.community_extras(scene, draw)
        return scene, registers.sprinkle(registers.community_phrases(scene, draw), scene.weighted, draw)
    return scene, registers.sprinkle(registers.tag_phrases(scene, draw), scene.weighted, draw)


def _quality(state: Scene | booru.Tags, draw: Draw) -> list[str]:
    """The beautifier's words for the first turn: none when the prompt already has quality words."""
    if isinstance(state, booru.Tags):
        if state.of("quality"):
            return []
        chosen = draw.rng.sample(draw.vocab.pools("booru", "quality").train, 2)
        state.tags += [("quality", q) for q in chosen]
        return chosen
    if state.quality:
        return []
    chosen = draw.rng.sample(draw.vocab.pools("quality", "beautify").train, draw.rng.choice((2, 3)))
    state.quality = list(chosen)
    return chosen


def _ops(edit: Edit, quality: list[str]) -> list[Op]:
    return edit.ops + ([Op("quality", ", ".join(quality))] if quality else [])


def _step(state, text: str, negative: str, ops: list[Op]) -> tuple[str, str] | None:
    """Apply a script to the prompt and negative prompt; None when any operation does not apply cleanly."""
    applied = apply_script(text, ops, negative=negative)
    if applied.failed or (applied.prompt, applied.negative) == (text, negative):
        return None
    _carry_weights(state.weighted, [op for op in ops if not op.negative])
    return applied.prompt, applied.negative


def _carry_weights(weighted: dict[str, str], ops: list[Op]) -> None:
    """A replacement quoting a weighted phrase's words keeps its brackets: follow it to its new text."""
    for op in ops:
        if op.kind == "replace" and op.text in weighted:
            weighted[op.new] = weighted.pop(op.text).replace(op.text, op.new)
        elif op.kind == "delete":
            weighted.pop(op.text, None)


def _context_edit(state, draw: Draw, edits: dict, wanted: str | None) -> Edit | None:
    """A context turn of any single kind that applies (or of the wanted kind)."""
    kinds = [wanted] if wanted else draw.rng.sample([k for k in edits if k != "weight"], len(edits) - ("weight" in edits))
    kinds = kinds if wanted or draw.chance(0.2) else [kind for kind in kinds if kind != "negative"]
    for kind in kinds:
        trial = state.copy()
        edit = edits[kind](trial, draw)
        if edit is not None:
            _commit(state, trial)
            return edit
    return None


def _commit(state, trial) -> None:
    state.__dict__.update(trial.__dict__)


def _multi(state, draw: Draw, edits: dict, parts: list[str]) -> Edit | None:
    """Several single edits in one instruction, joined the way people chain requests."""
    done: list[Edit] = []
    named: set[str] = set()
    for part in parts:
        edit = edits[part](state, draw)
        if edit is None:
            return None
        words = named_words(edit)
        if words & named:  # two requests about the same thing read as a muddle
            return None
        named |= words
        done.append(edit)
    clauses = [lower_first(edit.instruction) for edit in done]
    kind, names = ("two", ("first", "second")) if len(clauses) == 2 else ("three", ("first", "second", "third"))
    return combine(done, draw.phrase("multi", kind, **dict(zip(names, clauses, strict=True))))


def _checks(state, source: str, before: str, target: str, negative: str, tally: Tally, edit: Edit) -> Checks | None:
    keys = state.keys()
    keep = [key for key in dict.fromkeys(keys) if contains_phrase(source, key) and contains_phrase(target, key)]
    keep = [key for key in keep if not any(contains_phrase(key, gone) for gone in tally.exclude)]
    syntax = [piece for piece in parse(before).syntax_elements() if piece in target and piece not in edit.exact_absent]
    exact = list(dict.fromkeys(syntax + [piece for piece in edit.exact if piece not in syntax]))
    checks = Checks(
        must_include=tally.include, must_exclude=tally.exclude, keep=keep, exact=exact, exact_absent=edit.exact_absent,
        negative_include=tally.negative_include, negative_exclude=tally.negative_exclude,
    )  # fmt: skip
    if checks.failures(target) or checks.negative_failures(negative) or _copies_request(target):
        return None
    return checks


def _copies_request(target: str) -> bool:
    text = PhraseIndex(target)
    return any(text.has(word) for word in INSTRUCTION_WORDS)


def _vary_case(text: str, rng: random.Random, share: float) -> str:
    """People start with a capital now and then; the model should not care."""
    return text[:1].upper() + text[1:] if rng.random() < share else text


def source_scene(draw: Draw, parts: list[str]) -> Scene | None:
    """A raw prompt's content, with what the planned edits need. Sentences say less (no lighting or camera)."""
    rng = draw.rng
    sentence = draw.register == "sentence"
    kinds, weights = ("person", "animal", "thing"), (45, 35, 20)
    if "pose" in parts:
        kinds, weights = ("person", "animal"), (55, 45)
    kind = rng.choices(kinds, weights=weights)[0]
    action = rng.choice(draw.vocab.pools("actions", kind).train) if kind != "thing" and rng.random() < 0.6 else None
    outdoor = kind == "thing" or rng.random() < (0.75 if kind == "animal" else 0.55)
    setting = draw.content("settings", "outdoor" if outdoor else "indoor") if rng.random() < 0.9 else None
    scene = Scene(Thing(draw.content("subjects", kind)), kind, action, setting, outdoor)
    for _ in range(rng.choices((0, 1, 2), weights=(30, 45, 25))[0]):
        _insert(scene, _content_object(scene, draw))

    def maybe(share: float, name: str, group: str = "all"):
        return draw.content(name, group) if rng.random() < share else None

    time, weather = maybe(0.3, "atmosphere", "time"), maybe(0.2, "atmosphere", "weather") if outdoor else None
    scene.time, scene.weather = (stated_mood(time, draw) if time else None), (stated_mood(weather, draw) if weather else None)
    scene.style = maybe(0.3 if sentence else 0.6, "styles")
    if not sentence:
        scene.lighting, scene.palette, scene.camera = maybe(0.45, "lighting"), maybe(0.2, "palettes"), maybe(0.35, "camera")
        scene.mood = stated_mood(mood, draw) if (mood := maybe(0.25, "extras", "mood")) else None
        if rng.random() < 0.3:
            scene.quality = rng.sample(draw.vocab.pools("quality", "beautify").train, rng.choice((1, 2)))
        # People state a pose in several phrases (`standing, arms folded`), which a new pose must all replace;
        # an action of more than one word (`holding a map`) keeps the hands busy.
        if kind == "person" and " " not in (action or "") and rng.random() < (0.6 if "pose" in parts else 0.15):
            scene.gesture = draw.content("extras", "gesture")
    _prepare(scene, draw, parts)
    return scene


def _content_object(scene: Scene, draw: Draw, need: Callable[[Thing], bool] = lambda thing: True) -> Thing | None:
    for _ in range(30):
        thing = new_object(scene, draw, as_value=False)
        if thing is not None and need(thing):
            return thing
    return None


def _insert(scene: Scene, thing: Thing | None) -> None:
    if thing is not None:
        if len(scene.objects) >= MAX_OBJECTS:
            scene.objects.pop()
        scene.objects.append(thing)


def _prepare(scene: Scene, draw: Draw, parts: list[str]) -> None:
    """Give the source what the planned edits need: something to remove, recolour or count, room to add."""
    if "remove" in parts:
        if draw.heldout and not any(draw.is_heldout_object(thing) for thing in scene.objects):
            template = draw.value("objects", "any", lambda entry: Thing(entry, "x").head in scene.heads())
            _insert(scene, draw.thing(template) if template else None)
        elif not scene.objects:
            _insert(scene, _content_object(scene, draw))
    needs = {"colour": lambda t: t.colourable, "count": lambda t: t.countable, "position": lambda t: True}
    for part, need in needs.items():
        if part in parts and not any(need(thing) for thing in scene.objects) and draw.chance(0.8):
            _insert(scene, _content_object(scene, draw, need))
    if ("add" in parts or "text" in parts) and len(scene.objects) >= MAX_OBJECTS:
        scene.objects.pop(0)
    # People's prompts mostly state a mood or time already, often more than once: the edit must replace it, not add.
    if "mood" in parts and scene.mood is None and draw.register != "sentence" and draw.chance(0.7):
        scene.mood = stated_mood(draw.content("extras", "mood"), draw)
    if "atmosphere" in parts and scene.time is None and draw.chance(0.6):
        scene.time = stated_mood(draw.content("atmosphere", "time"), draw)
    # Pasted prompts often size, count or place things already, and the edit must replace what they say:
    # "make the dragon big" on `a tiny dragon`, "only one cat" on `three cats`, "put the windmill in front".
    if "size" in parts:
        _restate(scene, draw, 0.5, _single, size=draw.content("extras", draw.rng.choice(("size_big", "size_small"))))
    if "count" in parts:
        _restate(scene, draw, 0.35, _single, count=draw.content("extras", "count"))
    if "position" in parts:
        _restate(scene, draw, 0.5, lambda thing: True, position=draw.content("extras", "position"))


def _restate(scene: Scene, draw: Draw, share: float, usable: Callable[[Thing], bool], **fields: str) -> None:
    """Give one usable object, with chance share, what the fields say."""
    options = [index for index, thing in enumerate(scene.objects) if usable(thing)]
    if options and draw.chance(share):
        index = draw.rng.choice(options)
        scene.objects[index] = scene.objects[index].changed(**fields)


def _single(thing: Thing) -> bool:
    """One of something with no size, count or place yet: `a lamp`."""
    return thing.countable and thing.size is None and thing.count is None and thing.position is None
