"""Edit categories: each changes a Scene's slots and says so in one phrasing drawn from the vocabularies.

An edit also returns its checks (what the target must now include or exclude) and the words
its instruction names, which a teacher's paraphrase must keep.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diffchat_tui.core.prompting import comparable
from trainer.data.scene import Mood, Scene, Thing, setting_key, setting_place, strip_article
from trainer.data.schema import contains_phrase
from trainer.data.vocab import Vocab

CATEGORIES = ("add", "remove", "replace", "style", "atmosphere", "colour", "camera", "beautify", "multi")
SINGLE_EDITS = ("add", "remove", "replace", "style", "atmosphere", "colour", "camera")
"""What a multi edit combines; beautify has no exact check, so it stays a category of its own."""
MAX_OBJECTS = 3


@dataclass
class Draw:
    """The random choices of one record: its generator, the vocabularies, and whether it is held out.

    A held-out record takes its edit's new value and phrasing from the held-out pools; a
    training record never touches them.
    """

    rng: random.Random
    vocab: Vocab
    heldout: bool
    templates: list[tuple[str, str, str]] = field(default_factory=list)
    """(category, kind, template) of every phrasing used, so tests can trace held-out use."""

    def content(self, name: str, group: str) -> Any:
        """Scene content: any entry for a held-out record, training entries otherwise."""
        return self.rng.choice(self.vocab.pools(name, group).pick(None if self.heldout else False))

    def values(self, name: str, group: str) -> tuple[Any, ...]:
        """Candidates for an edit's new value: the held-out pool for a held-out record (when it has one)."""
        pools = self.vocab.pools(name, group)
        return pools.pick(self.heldout and bool(pools.heldout))

    def value(self, name: str, group: str, unlike: Callable[[Any], bool] = lambda entry: False) -> Any | None:
        candidates = [entry for entry in self.values(name, group) if not unlike(entry)]
        return self.rng.choice(candidates) if candidates else None

    def thing(self, template: str) -> Thing:
        colour = self.content("colours", "all") if "{colour}" in template else None
        return Thing(template, colour)

    def phrase(self, category: str, kind: str, **fields: str) -> str:
        pools = self.vocab.phrasing_pools(category, kind)
        template = self.rng.choice(pools.pick(self.heldout and bool(pools.heldout)))
        self.templates.append((category, kind, template))
        return template.format(**fields)

    def is_heldout_object(self, thing: Thing) -> bool:
        return any(thing.template in self.vocab.pools("objects", group).heldout for group in ("any", "outdoor"))


@dataclass
class Edit:
    """What one instruction did: its text, its checks, and the phrases it names (any form of each)."""

    instruction: str
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    mentions: list[tuple[str, ...]] = field(default_factory=list)


def _object_group(scene: Scene, draw: Draw) -> str:
    return "outdoor" if scene.outdoor and draw.rng.random() < 0.4 else "any"


def _new_object(scene: Scene, draw: Draw, *, as_value: bool) -> Thing | None:
    """An object whose noun is not in the scene yet: an edit value, or scene content."""
    group = _object_group(scene, draw)
    taken = scene.heads()
    if as_value:
        template = draw.value("objects", group, lambda entry: Thing(entry, "x").head in taken)
        return draw.thing(template) if template else None
    for _ in range(20):
        thing = draw.thing(draw.content("objects", group))
        if thing.head not in taken:
            return thing
    return None


def add(scene: Scene, draw: Draw) -> Edit | None:
    if len(scene.objects) >= MAX_OBJECTS:
        return None
    thing = _new_object(scene, draw, as_value=True)
    if thing is None:
        return None
    scene.objects.append(thing)
    text = draw.phrase("add", "object", a=thing.text, bare=thing.bare)
    return Edit(text, include=[thing.bare], mentions=[(thing.bare,)])


def remove(scene: Scene, draw: Draw) -> Edit | None:
    candidates = [thing for thing in scene.objects if draw.is_heldout_object(thing) or not draw.heldout]
    if not candidates:
        return None
    thing = draw.rng.choice(candidates)
    scene.objects.remove(thing)
    text = draw.phrase("remove", "object", the=f"the {thing.bare}", bare=thing.bare)
    return Edit(text, exclude=[thing.head], mentions=[(thing.head,)])


def replace(scene: Scene, draw: Draw) -> Edit | None:
    if scene.setting and draw.rng.random() < 0.3:
        return _replace_setting(scene, draw)
    taken = scene.heads()
    if scene.objects and draw.rng.random() < 0.4:
        index = draw.rng.randrange(len(scene.objects))
        old = scene.objects[index]
        template = draw.value("objects", _object_group(scene, draw), lambda entry: Thing(entry, "x").head in taken)
        if template is None:
            return None
        new = draw.thing(template)
        scene.objects[index] = new
    else:
        old = scene.subject
        template = draw.value("subjects", scene.kind, lambda entry: Thing(entry).head in taken)
        if template is None:
            return None
        new = scene.subject = Thing(template)
    text = draw.phrase("replace", "thing", old=f"the {old.bare}", new=new.text, new_bare=new.bare)
    return Edit(text, include=[new.bare], exclude=[old.head], mentions=[(old.head,), (new.bare,)])


def _replace_setting(scene: Scene, draw: Draw) -> Edit | None:
    old = scene.setting
    old_head = setting_key(old).split()[-1]
    group = "outdoor" if scene.outdoor else "indoor"
    new = draw.value("settings", group, lambda entry: setting_key(entry).split()[-1] == old_head)
    if new is None:
        return None
    scene.setting = new
    text = draw.phrase("replace", "setting", tag=new, dest=setting_place(new))
    return Edit(text, include=[setting_key(new)], exclude=[old_head], mentions=[(setting_key(new),)])


def _set_slot(scene: Scene, draw: Draw, slot: str, vocab: str) -> tuple[str, str | None] | None:
    old = getattr(scene, slot)
    new = draw.value(vocab, "all", lambda entry: entry == old)
    if new is None:
        return None
    setattr(scene, slot, new)
    return new, old


def style(scene: Scene, draw: Draw) -> Edit | None:
    changed = _set_slot(scene, draw, "style", "styles")
    if changed is None:
        return None
    new, old = changed
    text = draw.phrase("style", "style", a=new, bare=strip_article(new))
    return _slot_edit(text, strip_article(new), old and strip_article(old))


def _slot_edit(text: str, new: str, old: str | None) -> Edit:
    return Edit(text, include=[new], exclude=[old] if old else [], mentions=[(new,)])


def atmosphere(scene: Scene, draw: Draw) -> Edit | None:
    if draw.rng.random() < 0.35:
        changed = _set_slot(scene, draw, "lighting", "lighting")
        if changed is None:
            return None
        new, old = changed
        return _slot_edit(draw.phrase("atmosphere", "lighting", x=new), new, old)
    slot = "weather" if scene.outdoor and draw.rng.random() < 0.5 else "time"
    old: Mood | None = getattr(scene, slot)
    entry = draw.value("atmosphere", slot, lambda entry: old is not None and entry["key"] == old.key)
    if entry is None:
        return None
    mood = Mood(**entry)
    setattr(scene, slot, mood)
    text = draw.phrase("atmosphere", "time", say=mood.say, tag=mood.tag)
    return Edit(text, include=[mood.key], exclude=[old.key] if old else [], mentions=[(mood.key, strip_article(mood.say))])


def colour(scene: Scene, draw: Draw) -> Edit | None:
    colourable = [index for index, thing in enumerate(scene.objects) if thing.colourable]
    if not colourable or draw.rng.random() < 0.3:
        changed = _set_slot(scene, draw, "palette", "palettes")
        if changed is None:
            return None
        new, old = changed
        return _slot_edit(draw.phrase("colour", "palette", x=new), new, old)
    index = draw.rng.choice(colourable)
    old = scene.objects[index]
    shade = draw.value("colours", "all", lambda entry: entry == old.colour)
    if shade is None:
        return None
    new = scene.objects[index] = Thing(old.template, shade)
    text = draw.phrase("colour", "object", noun=new.noun, colour=shade, new=new.text)
    return Edit(
        text,
        include=[f"{shade} {new.noun}"],
        exclude=[f"{old.colour} {old.noun}"],
        mentions=[(new.noun,), (shade,)],
    )


def camera(scene: Scene, draw: Draw) -> Edit | None:
    changed = _set_slot(scene, draw, "camera", "camera")
    if changed is None:
        return None
    new, old = changed
    text = draw.phrase("camera", "camera", a=new, bare=strip_article(new))
    return _slot_edit(text, strip_article(new), old and strip_article(old))


def beautify(scene: Scene, draw: Draw) -> Edit | None:
    details = [word for word in draw.vocab.pools("quality", "detail").train if word not in scene.extra]
    scene.extra += draw.rng.sample(details, min(2, len(details)))
    if scene.lighting is None and draw.rng.random() < 0.7:
        scene.lighting = draw.content("lighting", "all")
    return Edit(draw.phrase("beautify", "expand"))


SINGLE: dict[str, Callable[[Scene, Draw], Edit | None]] = {
    "add": add,
    "remove": remove,
    "replace": replace,
    "style": style,
    "atmosphere": atmosphere,
    "colour": colour,
    "camera": camera,
    "beautify": beautify,
}


def multi(scene: Scene, draw: Draw, parts: list[str]) -> Edit | None:
    """Several single edits in one instruction, joined the way people chain requests."""
    edits: list[Edit] = []
    named: set[str] = set()
    for part in parts:
        edit = SINGLE[part](scene, draw)
        if edit is None:
            return None
        words = {word for forms in edit.mentions for form in forms for word in comparable(form).split()}
        if words & named:  # two requests about the same thing read as a muddle ("recolour the bike, swap the bike")
            return None
        named |= words
        edits.append(edit)
    clauses = [_lower_first(edit.instruction) for edit in edits]
    kind, names = ("two", ("first", "second")) if len(clauses) == 2 else ("three", ("first", "second", "third"))
    text = draw.phrase("multi", kind, **dict(zip(names, clauses, strict=True)))
    tally = Tally()
    for edit in edits:
        tally.apply(edit)
    return Edit(text, tally.include, tally.exclude, [mention for edit in edits for mention in edit.mentions])


def _lower_first(text: str) -> str:
    return text if text.startswith("I ") or text.startswith("I'") else text[:1].lower() + text[1:]


@dataclass
class Tally:
    """Checks accumulated over edits: a later edit overrides what an earlier one asked for."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def apply(self, edit: Edit) -> None:
        # Re-adding a removed thing lifts its exclusion; removing an added thing drops its inclusion.
        self.exclude = [old for old in self.exclude if not any(contains_phrase(new, old) for new in edit.include)]
        self.include = [old for old in self.include if not any(contains_phrase(old, gone) for gone in edit.exclude)]
        self.include += [phrase for phrase in edit.include if phrase not in self.include]
        self.exclude += [phrase for phrase in edit.exclude if phrase not in self.exclude]
