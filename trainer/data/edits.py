"""Edit categories for scene prompts: each changes a Scene's slots, writes the script that changes the
prompt text the same way, and says so in one phrasing drawn from the vocabularies.

Every script quotes the slot's text exactly as the prompt has it, so applying it changes that
text and nothing else. Checks name what the target must now include or exclude.
"""

from __future__ import annotations

from collections.abc import Callable

from diffchat_tui.core.edit_script import Op
from diffchat_tui.core.prompting import comparable
from trainer.data.draw import Draw, Edit
from trainer.data.scene import Mood, Scene, Thing, setting_key, setting_place, strip_article
from trainer.data.schema import contains_phrase

MAX_OBJECTS = 3
ALTERNATIVES = " | "
"""How a check lists acceptable alternatives (schema.Checks reads it the same way)."""


def said(draw: Draw, value: str) -> str:
    """A style, camera or palette as the register writes it: `oil painting` in a tag list, `an oil painting` in a sentence."""
    return strip_article(value) if draw.tagged else value


def _object_group(scene: Scene, draw: Draw) -> str:
    return "outdoor" if scene.outdoor and draw.chance(0.4) else "any"


def new_object(scene: Scene, draw: Draw, *, as_value: bool) -> Thing | None:
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


def add_op(scene: Scene, draw: Draw, text: str) -> Op:
    """A new phrase: after the last object (or the subject) in long prompts, else at the end."""
    if draw.register == "community" or (draw.register == "tags" and draw.chance(0.5)):
        anchor = scene.objects[-1].text if scene.objects else scene.core()
        return Op("add", text, anchor=anchor)
    return Op("add", text)


def add(scene: Scene, draw: Draw) -> Edit | None:
    if len(scene.objects) >= MAX_OBJECTS:
        return None
    thing = new_object(scene, draw, as_value=True)
    if thing is None:
        return None
    op = add_op(scene, draw, thing.text)
    scene.objects.append(thing)
    text = draw.phrase("add", "object", a=thing.text, bare=thing.bare)
    return Edit(text, [op], include=[thing.bare], mentions=[(thing.bare,)])


def remove(scene: Scene, draw: Draw) -> Edit | None:
    candidates = [thing for thing in scene.objects if draw.is_heldout_object(thing) or not draw.heldout]
    if not candidates:
        return None
    thing = draw.rng.choice(candidates)
    scene.objects.remove(thing)
    scene.removed.append(thing)
    text = draw.phrase("remove", "object", the=f"the {thing.bare}", bare=thing.bare)
    return Edit(text, [Op("delete", thing.text)], exclude=[thing.head], mentions=[(thing.head,)])


def replace(scene: Scene, draw: Draw) -> Edit | None:
    if scene.setting and draw.chance(0.3):
        return _replace_setting(scene, draw)
    taken = scene.heads()
    if scene.objects and draw.chance(0.4):
        index = draw.rng.randrange(len(scene.objects))
        old = scene.objects[index]
        template = draw.value("objects", _object_group(scene, draw), lambda entry: Thing(entry, "x").head in taken)
        if template is None:
            return None
        new = scene.objects[index] = draw.thing(template)
    else:
        old = scene.subject
        template = draw.value("subjects", scene.kind, lambda entry: Thing(entry).head in taken)
        if template is None:
            return None
        new = scene.subject = Thing(template)
    text = draw.phrase("replace", "thing", old=f"the {old.bare}", new=new.text, new_bare=new.bare)
    op = Op("replace", old.text, new.text)
    return Edit(text, [op], include=[new.bare], exclude=[old.head], mentions=[(old.head,), (new.bare,)])


def _replace_setting(scene: Scene, draw: Draw) -> Edit | None:
    old = scene.setting
    old_head = setting_key(old).split()[-1]
    new = draw.value("settings", "outdoor" if scene.outdoor else "indoor", lambda e: setting_key(e).split()[-1] == old_head)
    if new is None:
        return None
    scene.setting = new
    text = draw.phrase("replace", "setting", tag=new, dest=setting_place(new))
    return Edit(text, [Op("replace", old, new)], include=[setting_key(new)], exclude=[old_head], mentions=[(setting_key(new),)])


def set_slot(scene: Scene, draw: Draw, slot: str, new: str, old: str | None, tagged_value: bool = True) -> Op:
    """The op that puts a new value in a slot: a replacement when it had one, else an addition."""
    setattr(scene, slot, new)
    shown_new, shown_old = (said(draw, new), old and said(draw, old)) if tagged_value else (new, old)
    if shown_old:
        return Op("replace", shown_old, shown_new)
    if slot == "style" and draw.register == "sentence":  # `a cat` -> `a watercolor painting of a cat`
        return Op("replace", scene.subject.text, f"{shown_new} of {scene.subject.text}")
    return add_op(scene, draw, shown_new)


def _slot(scene: Scene, draw: Draw, slot: str, vocab: str) -> tuple[str, str | None] | None:
    old = getattr(scene, slot)
    new = draw.value(vocab, "all", lambda entry: entry == old)
    return None if new is None else (new, old)


def style(scene: Scene, draw: Draw) -> Edit | None:
    changed = _slot(scene, draw, "style", "styles")
    if changed is None:
        return None
    new, old = changed
    op = set_slot(scene, draw, "style", new, old)
    stale = medium_credits(scene, draw, new)
    scene.credits = [credit for credit in scene.credits if credit not in stale]
    text = draw.phrase("style", "style", a=new, bare=strip_article(new))
    edit = _slot_edit(text, op, strip_article(new), old and strip_article(old))
    edit.ops += [Op("delete", credit) for credit in stale]
    edit.exclude += stale
    return edit


def medium_credits(scene: Scene, draw: Draw, new_style: str) -> list[str]:
    """Credits that state the old medium: a watercolor keeps no `octane render`, a render no `kodak portra 400`."""
    if "photo" in new_style:
        groups = ("render",)
    elif "render" in new_style:
        groups = ("lens", "film")
    else:
        groups = ("render", "lens", "film")
    medium = {word for group in groups for word in draw.vocab.pools("media", group).pick(None)}
    return [credit for credit in scene.credits if credit in medium]


def _slot_edit(text: str, op: Op, new: str, old: str | None) -> Edit:
    return Edit(text, [op], include=[new], exclude=[old] if old else [], mentions=[(new,)])


def atmosphere(scene: Scene, draw: Draw) -> Edit | None:
    if draw.chance(0.3):
        changed = _slot(scene, draw, "lighting", "lighting")
        if changed is None:
            return None
        new, old = changed
        return _slot_edit(draw.phrase("atmosphere", "lighting", x=new), set_slot(scene, draw, "lighting", new, old), new, old)
    if scene.outdoor and draw.chance(0.3):
        return _time_and_weather(scene, draw)
    slot = "weather" if scene.outdoor and draw.chance(0.5) else "time"
    entry = draw.value("atmosphere", slot, lambda entry: clashes(entry, getattr(scene, slot)))
    if entry is None:
        return None
    ops, gone = shift_mood(scene, draw, slot, entry)
    text = draw.phrase("atmosphere", "time", say=entry["say"], tag=entry["tag"])
    return Edit(text, ops, include=[entry["key"]], exclude=gone, mentions=[(entry["key"], strip_article(entry["say"]))])


def _time_and_weather(scene: Scene, draw: Draw) -> Edit | None:
    """"a foggy dawn": both slots change, and every phrase of the old ones goes."""
    weather = draw.value("atmosphere", "weather", lambda entry: "adj" not in entry or clashes(entry, scene.weather))
    time = draw.value("atmosphere", "time", lambda entry: clashes(entry, scene.time) or clashes(entry, scene.weather))
    if weather is None or time is None or clashes(weather, scene.time):
        return None
    time_ops, time_gone = shift_mood(scene, draw, "time", time)
    weather_ops, weather_gone = shift_mood(scene, draw, "weather", weather)
    text = draw.phrase("atmosphere", "both", adj=weather["adj"], time=time["say"])
    return Edit(
        text, time_ops + weather_ops, include=[time["key"], weather["key"]], exclude=time_gone + weather_gone,
        mentions=[(time["key"], time["say"]), (weather["key"], weather["adj"])],
    )  # fmt: skip


def clashes(entry: dict, old: Mood | None) -> bool:
    """Whether a new mood would share words with the old one, so one check could not tell them apart."""
    if old is None:
        return False
    new = [entry["key"], entry["tag"], *entry.get("cues", ())]
    return any(contains_phrase(a, b) or contains_phrase(b, a) for a in new for b in (old.key, *old.phrases))


def stated_mood(entry: dict, draw: Draw) -> Mood:
    """A mood as a source prompt states it: its tag, and in tag prompts now and then its cues too, or only them."""
    offered = entry.get("cues", ())
    if not offered or draw.register == "sentence" or not draw.chance(0.45):
        return Mood.of(entry)
    cues = draw.rng.sample(offered, draw.rng.choice((1, 2)) if len(offered) > 1 else 1)
    return Mood.of(entry, cues, tagged=draw.chance(0.6))


def shift_mood(scene: Scene, draw: Draw, slot: str, entry: dict) -> tuple[list[Op], list[str]]:
    """The ops that turn a slot's mood into entry's, and what must be gone after them.

    The old tag (or its first cue) becomes the new tag and every other cue goes, one of them now
    and then giving way to a cue of the new mood: `stormy night` leaves no `bright midday sun` behind.
    """
    old: Mood | None = getattr(scene, slot)
    if old is None:
        setattr(scene, slot, Mood.of(entry))
        return [add_op(scene, draw, entry["tag"])], []
    first, *rest = old.phrases
    ops, cues = [Op("replace", first, entry["tag"])], []
    if rest and entry.get("cues") and draw.chance(0.5):
        cues = [draw.rng.choice(entry["cues"])]
        ops.append(Op("replace", rest.pop(0), cues[0]))
    ops += [Op("delete", phrase) for phrase in rest]
    setattr(scene, slot, Mood.of(entry, cues))
    return ops, [old.key, *old.cues]


def colour(scene: Scene, draw: Draw) -> Edit | None:
    colourable = [index for index, thing in enumerate(scene.objects) if thing.colourable]
    if not colourable or draw.chance(0.3):
        changed = _slot(scene, draw, "palette", "palettes")
        if changed is None:
            return None
        new, old = changed
        return _slot_edit(draw.phrase("colour", "palette", x=new), set_slot(scene, draw, "palette", new, old), new, old)
    index = draw.rng.choice(colourable)
    old = scene.objects[index]
    shade = draw.value("colours", "all", lambda entry: entry == old.colour)
    if shade is None:
        return None
    new = scene.objects[index] = old.changed(colour=shade)
    text = draw.phrase("colour", "object", noun=new.noun, colour=shade, new=new.base)
    include, exclude = f"{shade} {new.noun}", f"{old.colour} {old.noun}"
    if old.count or old.size:
        include, exclude = shade, old.colour  # `three blue umbrellas` holds no `blue umbrella`
    return Edit(text, [Op("replace", old.text, new.text)], [include], [exclude], [(new.noun,), (shade,)])


def camera(scene: Scene, draw: Draw) -> Edit | None:
    changed = _slot(scene, draw, "camera", "camera")
    if changed is None:
        return None
    new, old = changed
    text = draw.phrase("camera", "camera", a=new, bare=strip_article(new))
    return _slot_edit(text, set_slot(scene, draw, "camera", new, old), strip_article(new), old and strip_article(old))


def beautify(scene: Scene, draw: Draw) -> Edit | None:
    details = [word for word in draw.vocab.pools("quality", "detail").train if word not in scene.quality]
    chosen = draw.rng.sample(details, min(2, len(details)))
    scene.quality += chosen
    ops = [Op("quality", ", ".join(chosen))]
    if scene.lighting is None and draw.chance(0.6):
        scene.lighting = draw.content("lighting", "all")
        ops.insert(0, add_op(scene, draw, scene.lighting))
    return Edit(draw.phrase("beautify", "expand"), ops, include=[new_quality(draw, scene.text)])


def new_quality(draw: Draw, prompt: str) -> str:
    """The check of a beautify edit: any quality word the prompt did not have (the model picks which)."""
    groups = (("quality", "beautify"), ("quality", "detail"), ("booru", "quality"))
    words = dict.fromkeys(word for name, group in groups for word in draw.vocab.pools(name, group).pick(None))
    return ALTERNATIVES.join(word for word in words if not contains_phrase(prompt, word))


SceneEdit = Callable[[Scene, Draw], Edit | None]
BASIC: dict[str, SceneEdit] = {
    "add": add,
    "remove": remove,
    "replace": replace,
    "style": style,
    "atmosphere": atmosphere,
    "colour": colour,
    "camera": camera,
    "beautify": beautify,
}


def combine(edits: list[Edit], text: str) -> Edit:
    """Several edits as one instruction; a later edit overrides what an earlier one asked for."""
    tally = Tally()
    for edit in edits:
        tally.apply(edit)
    ops = [op for edit in edits for op in edit.ops]
    mentions = [mention for edit in edits for mention in edit.mentions]
    exact = [text for edit in edits for text in edit.exact]
    absent = [text for edit in edits for text in edit.exact_absent if text not in exact]
    exact = [t for t in exact if t not in absent]
    return Edit(text, ops, tally.include, tally.exclude, mentions, exact, absent, tally.negative_include, tally.negative_exclude)


def named_words(edit: Edit) -> set[str]:
    return {word for forms in edit.mentions for form in forms for word in comparable(form).split()}


def lower_first(text: str) -> str:
    return text if text.startswith("I ") or text.startswith("I'") else text[:1].lower() + text[1:]


class Tally:
    """Checks accumulated over edits: a later edit overrides what an earlier one asked for."""

    def __init__(self) -> None:
        self.include: list[str] = []
        self.exclude: list[str] = []
        self.negative_include: list[str] = []
        self.negative_exclude: list[str] = []

    def apply(self, edit: Edit) -> None:
        self.include, self.exclude = _merged(self.include, self.exclude, edit.include, edit.exclude)
        self.negative_include, self.negative_exclude = _merged(
            self.negative_include, self.negative_exclude, edit.negative_include, edit.negative_exclude
        )


def _merged(include: list[str], exclude: list[str], new_include: list[str], new_exclude: list[str]) -> tuple[list, list]:
    """Re-adding a removed thing lifts its exclusion; removing an added thing drops its inclusion."""
    exclude = [old for old in exclude if not any(_overlaps(new, old) for new in new_include)]
    include = [old for old in include if not any(_overlaps(old, gone) for gone in new_exclude)]
    include += [phrase for phrase in new_include if phrase not in include]
    exclude += [phrase for phrase in new_exclude if phrase not in exclude]
    return include, exclude


def _overlaps(text: str, phrase: str) -> bool:
    return any(contains_phrase(option, part) for option in text.split(ALTERNATIVES) for part in phrase.split(ALTERNATIVES))
