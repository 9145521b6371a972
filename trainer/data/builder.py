"""The offline InstructPE builder: raw prompts from the vocabularies, edits applied to their slots.

Every record is checked before it is kept: the target passes its own checks, copies no
instruction words, and fits the target length cap. Records are independent draws seeded by
(seed, index), so a build is the same for a seed on any machine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from diffchat_tui.core.prompting import MAX_TARGET_WORDS
from trainer.data.edits import CATEGORIES, MAX_OBJECTS, SINGLE, SINGLE_EDITS, Draw, Edit, Tally, multi
from trainer.data.scene import Mood, Scene, Thing
from trainer.data.schema import Checks, HistoryTurn, PhraseIndex, Record, contains_phrase
from trainer.data.tools import record_key
from trainer.data.vocab import Vocab, load_vocab

INSTRUCTION_WORDS = (
    "make it", "make the", "make this", "remove", "get rid", "please", "instead", "add", "replace",
    "change", "swap", "switch", "lose", "delete", "erase", "turn it", "turn the", "can you", "could you",
    "i want", "id like", "lets", "should", "put it", "move it", "recolor", "restyle", "how about",
)  # fmt: skip
"""Words of requests, not of prompts: a target containing one has copied the instruction."""
QUALITY_WORDS = 3
"""Quality modifiers the beautifier appends to every prompt of a record, the same ones each turn."""
MAX_ATTEMPTS = 200


@dataclass
class Draft:
    """A built record plus what the builder knows about it and the file does not say."""

    record: Record
    mentions: list[tuple[str, ...]]
    """Phrases the last instruction names (any form of each): a paraphrase must keep them all."""
    templates: list[tuple[str, str, str]] = field(default_factory=list)
    """(category, kind, template) of every phrasing the record used, earlier turns included."""


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
    planned = [(category, heldout, (rng.choice((1, 1, 2)) if index in turned else 0)) for index, (category, heldout) in enumerate(rows)]
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


def _attempt(rng: random.Random, vocab: Vocab, category: str, heldout: bool, earlier: int) -> Draft | None:
    draw = Draw(rng, vocab, heldout)
    history_draw = Draw(rng, vocab, heldout=False, templates=draw.templates)  # context turns use training pools
    parts = rng.sample(SINGLE_EDITS, 3 if rng.random() < 0.25 else 2) if category == "multi" else [category]
    sentence = rng.random() < 0.5
    source = source_scene(draw, sentence)
    prepare(source, draw, parts)
    quality = rng.sample(vocab.pools("quality", "beautify").train, QUALITY_WORDS)

    tally = Tally()
    turns: list[HistoryTurn] = []
    scene = source
    for _ in range(earlier):
        scene, edit = _earlier_turn(scene, history_draw)
        if edit is None:
            return None
        tally.apply(edit)
        target = scene.tags(quality)
        if _problems(target, Checks(must_include=tally.include, must_exclude=tally.exclude)):
            return None
        turns.append(HistoryTurn(instruction=edit.instruction, target=target))

    final = scene.copy()
    edit = multi(final, draw, parts) if category == "multi" else SINGLE[category](final, draw)
    if edit is None:
        return None
    tally.apply(edit)
    final_keys = set(final.keys())
    keep = [key for key in dict.fromkeys(source.keys()) if key in final_keys]
    keep = [key for key in keep if not any(contains_phrase(key, gone) for gone in tally.exclude)]
    checks = Checks(must_include=tally.include, must_exclude=tally.exclude, keep=keep)
    target = final.tags(quality)
    if _problems(target, checks):
        return None

    raw = source.sentence() if sentence else source.tags()
    record = Record(
        source_prompt=_vary_case(raw, rng, 0.15),
        instruction=_vary_case(edit.instruction, rng, 0.15),
        beautified_source_prompt=source.tags(quality),
        beautified_target_prompt=target,
        category=category,
        history=turns,
        checks=checks,
        heldout=heldout,
    )
    return Draft(record, edit.mentions, draw.templates)


def _earlier_turn(scene: Scene, draw: Draw) -> tuple[Scene, Edit | None]:
    """A context turn of any single category that applies to the scene as it is."""
    for category in draw.rng.sample(list(SINGLE), len(SINGLE)):
        trial = scene.copy()
        edit = SINGLE[category](trial, draw)
        if edit is not None:
            return trial, edit
    return scene, None


def _problems(target: str, checks: Checks) -> list[str]:
    problems = checks.failures(target)
    text = PhraseIndex(target)
    problems += [f"copies {word!r}" for word in INSTRUCTION_WORDS if text.has(word)]
    if len(target.split()) > MAX_TARGET_WORDS:
        problems.append("too long")
    return problems


def _vary_case(text: str, rng: random.Random, share: float) -> str:
    """People start with a capital now and then; the model should not care."""
    return text[:1].upper() + text[1:] if rng.random() < share else text


def source_scene(draw: Draw, sentence: bool) -> Scene:
    """A raw prompt's content. Sentence prompts say less (no lighting, palette, camera or quality words)."""
    rng = draw.rng
    kind = rng.choices(("person", "animal", "thing"), weights=(45, 35, 20))[0]
    action = None
    if kind != "thing" and rng.random() < 0.7:
        action = rng.choice(draw.vocab.pools("actions", kind).train)
    outdoor = kind == "thing" or rng.random() < (0.75 if kind == "animal" else 0.55)
    setting = draw.content("settings", "outdoor" if outdoor else "indoor") if rng.random() < 0.9 else None
    scene = Scene(Thing(draw.content("subjects", kind)), kind, action, setting, outdoor)
    for _ in range(rng.choices((0, 1, 2), weights=(30, 45, 25))[0]):
        _insert(scene, _content_object(scene, draw))

    def maybe(share: float, name: str, group: str = "all") -> str | None:
        return draw.content(name, group) if rng.random() < share else None

    time = maybe(0.3, "atmosphere", "time")
    weather = maybe(0.2, "atmosphere", "weather") if outdoor else None
    scene.time = Mood(**time) if time else None
    scene.weather = Mood(**weather) if weather else None
    scene.style = maybe(0.3 if sentence else 0.65, "styles")
    if not sentence:
        scene.lighting = maybe(0.45, "lighting")
        scene.palette = maybe(0.2, "palettes")
        scene.camera = maybe(0.35, "camera")
        if rng.random() < 0.5:
            scene.quality = rng.sample(draw.vocab.pools("quality", "beautify").train, rng.choice((1, 2)))
    return scene


def _content_object(scene: Scene, draw: Draw, colourable: bool = False) -> Thing | None:
    taken = scene.heads()
    for _ in range(30):
        group = "outdoor" if scene.outdoor and draw.rng.random() < 0.4 else "any"
        thing = draw.thing(draw.content("objects", group))
        if thing.head not in taken and (thing.colourable or not colourable):
            return thing
    return None


def _insert(scene: Scene, thing: Thing | None) -> None:
    if thing is not None:
        if len(scene.objects) >= MAX_OBJECTS:
            scene.objects.pop()
        scene.objects.append(thing)


def prepare(scene: Scene, draw: Draw, parts: list[str]) -> None:
    """Give the source what the planned edits need: something to remove, something to recolour, room to add."""
    if "remove" in parts:
        if draw.heldout and not any(draw.is_heldout_object(thing) for thing in scene.objects):
            group = "outdoor" if scene.outdoor and draw.rng.random() < 0.4 else "any"
            template = draw.value("objects", group, lambda entry: Thing(entry, "x").head in scene.heads())
            _insert(scene, draw.thing(template) if template else None)
        elif not scene.objects:
            _insert(scene, _content_object(scene, draw))
    if "colour" in parts and not any(thing.colourable for thing in scene.objects) and draw.rng.random() < 0.7:
        _insert(scene, _content_object(scene, draw, colourable=True))
    if "add" in parts and len(scene.objects) >= MAX_OBJECTS:
        scene.objects.pop(0)
