"""Booru-tag prompts (`1girl, solo, long hair, school uniform, classroom, masterpiece`) and their edits.

Tags stay tags: an edit adds, removes or swaps whole tags, so a tag prompt never turns into a
sentence. The edits share the scene edits' phrasings and checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from diffchat_tui.core.edit_script import Op
from trainer.data.draw import Draw, Edit
from trainer.data.edits import clashes, new_quality
from trainer.data.edits_more import reweighted, weight_checks
from trainer.data.scene import Mood, strip_article, with_article

PERSON_GROUPS = ("hair", "hair_colour", "eyes", "expression", "clothing", "pose", "gesture", "framing", "background", "object", "time", "style")
SCENERY_GROUPS = ("scenery", "scenery", "scenery", "background", "object", "time", "style")
CLEARED = ("expression", "style", "mood")
"""Groups whose tags all give way to a new one: `crying` leaves no `smile, blush`, `sketch` no `anime coloring, 3d`,
`peaceful` no `gloomy, dreary, bleak`."""
REPLACEABLE = ("background", "clothing", "object", "scenery")
NOT_HELD = ("bicycle", "glasses", "headphones", "backpack", "skateboard")
"""Objects a character rides or wears rather than holds: no `holding bicycle` tag."""
REMOVABLE = ("object", "clothing", "background", "scenery")


@dataclass
class Tags:
    """A booru prompt as (group, tag) pairs in prompt order."""

    tags: list[tuple[str, str]]
    person: str | None
    """`girl`, `boy` or None for a no-humans scenery prompt: how instructions name the character."""
    removed: list[tuple[str, str]] = field(default_factory=list)
    weighted: dict[str, str] = field(default_factory=dict)
    negative: list[str] = field(default_factory=list)
    """The negative prompt's tags."""
    text: str = ""
    """The prompt as it stands."""

    def copy(self) -> Tags:
        copied = replace(self, tags=list(self.tags), removed=list(self.removed), weighted=dict(self.weighted))
        copied.negative = list(self.negative)
        return copied

    def of(self, group: str) -> list[str]:
        return [tag for g, tag in self.tags if g == group]

    def has(self, tag: str) -> bool:
        return any(t == tag for _, t in self.tags)

    def keys(self) -> list[str]:
        return [tag for group, tag in self.tags if group not in ("quality", "count")]

    def anchor(self) -> str:
        """The last content tag, after which a new tag reads naturally."""
        content = [tag for group, tag in self.tags if group not in ("quality",)]
        return content[-1]


def booru_prompt(draw: Draw, parts: Sequence[str] = ()) -> Tags:
    rng = draw.rng
    tags: list[tuple[str, str]] = []
    if draw.chance(0.75):
        count = draw.content("booru", "count")
        person = "boy" if "boy" in count else "girl"
        tags.append(("count", count))
        if count.startswith("1") and draw.chance(0.6):
            tags.append(("count", "solo"))
        groups = [g for g in PERSON_GROUPS if draw.chance(0.75)] + ["clothing"] * rng.choice((0, 1))
    else:
        person = None
        tags += [("count", "no humans"), ("count", "scenery")]
        groups = list(SCENERY_GROUPS)
    groups = [group for group in groups if group != "style" or draw.chance(0.5)]
    groups += ["season"] if draw.chance(0.25) else []  # `day, summer`: a new season must not leave the old
    groups += [group for group in CLEARED if group in groups and draw.chance(0.4)]  # `smile, blush`
    if draw.chance(0.7 if "mood" in parts else 0.15):  # `dark, gloomy, dreary`: a new mood must take them all
        entry = draw.content("extras", "mood")
        tags += [("mood", entry["key"]), *(("mood", cue) for cue in draw.rng.sample(entry["cues"], draw.rng.randint(0, len(entry["cues"]))))]
    for group in groups:
        tag = draw.content("booru", group)
        if not any(t == tag for _, t in tags):
            tags += _with_sky(tag, draw) if group == "time" else _with_face(tag, draw) if group == "expression" else [(group, tag)]
    if person is not None:  # `umbrella, holding umbrella`: removing or swapping the thing must take both
        tags = [pair for group, tag in tags for pair in _held((group, tag), draw)]
    quality = [("quality", q) for q in rng.sample(draw.vocab.pools("booru", "quality").train, rng.choice((0, 2, 3)))]
    tags = quality + tags if draw.chance(0.6) else tags + quality
    return Tags(tags, person)


def _held(pair: tuple[str, str], draw: Draw) -> list[tuple[str, str]]:
    """An object tag, now and then with the `holding` tag booru prompts pair it with, before or after it."""
    group, tag = pair
    if group != "object" or tag in NOT_HELD or not draw.chance(0.5):
        return [pair]
    held = ("holding", f"holding {tag}")
    return [pair, held] if draw.chance(0.7) else [held, pair]


def _pick_held(prompt: Tags, draw: Draw, candidates: list[tuple[str, str]]) -> tuple[str, str]:
    """One of the candidates, most often a held one when there is one: the case a model gets wrong."""
    held = [(g, t) for g, t in candidates if prompt.has(f"holding {t}")]
    return draw.rng.choice(held if held and draw.chance(0.7) else candidates)


def _swap(prompt: Tags, old: str, new: str, group: str) -> None:
    prompt.tags = [(group if t == old else g, new if t == old else t) for g, t in prompt.tags]
    if old in prompt.weighted:  # the edit quotes the bare tag, so the brackets around it stay
        prompt.weighted[new] = prompt.weighted.pop(old).replace(old, new)


def _add(prompt: Tags, draw: Draw, group: str, tag: str) -> Op:
    op = Op("add", tag, anchor=prompt.anchor()) if draw.chance(0.5) else Op("add", tag)
    prompt.tags.append((group, tag))
    return op


def add(prompt: Tags, draw: Draw) -> Edit | None:
    group = draw.rng.choice(("object", "object", "clothing"))
    tag = draw.value("booru", group, prompt.has)
    if tag is None:
        return None
    op = _add(prompt, draw, group, tag)
    text = draw.phrase("add", "object", a=with_article(tag), bare=tag)
    return Edit(text, [op], include=[tag], mentions=[(tag,)])


def remove(prompt: Tags, draw: Draw) -> Edit | None:
    heldout = set(_heldout_tags(draw))
    candidates = [(g, t) for g, t in prompt.tags if g in REMOVABLE and (t in heldout or not draw.heldout)]
    if not candidates:
        return None
    group, tag = _pick_held(prompt, draw, candidates)
    prompt.removed.append((group, tag))
    text = draw.phrase("remove", "object", the=f"the {tag}", bare=tag)
    ops = [_drop(prompt, group, tag)]
    if prompt.has(f"holding {tag}"):
        ops.append(_drop(prompt, "holding", f"holding {tag}"))
    return Edit(text, ops, exclude=[tag], mentions=[(tag,)])


def _heldout_tags(draw: Draw) -> list[str]:
    return [tag for group in REMOVABLE for tag in draw.vocab.pools("booru", group).heldout]


def swap(prompt: Tags, draw: Draw) -> Edit | None:
    present = [(g, t) for g, t in prompt.tags if g in REPLACEABLE]
    if not present:
        return None
    group, old = _pick_held(prompt, draw, present)
    new = draw.value("booru", group, prompt.has)
    if new is None:
        return None
    _swap(prompt, old, new, group)
    ops = [Op("replace", old, new)]
    if prompt.has(f"holding {old}"):  # the hands hold the new thing, or let go of what cannot be held
        if new in NOT_HELD:
            ops.append(_drop(prompt, "holding", f"holding {old}"))
        else:
            _swap(prompt, f"holding {old}", f"holding {new}", "holding")
            ops.append(Op("replace", f"holding {old}", f"holding {new}"))
    text = draw.phrase("replace", "thing", old=f"the {old}", new=with_article(new), new_bare=new)
    return Edit(text, ops, [new], [old], [(old,), (new,)])


def _set(prompt: Tags, draw: Draw, group: str, new: str | None = None) -> tuple[list[Op], str, list[str]] | None:
    """Swap the group's tag for a new one (or add one when the prompt has none); a CLEARED group loses its other tags."""
    old = prompt.of(group)
    new = new or draw.value("booru", group, prompt.has)
    if new is None or prompt.has(new):
        return None
    if not old:
        return [_add(prompt, draw, group, new)], new, []
    gone = old if group in CLEARED else old[:1]
    _swap(prompt, gone[0], new, group)
    return [Op("replace", gone[0], new), *(_drop(prompt, group, tag) for tag in gone[1:])], new, gone


def _drop(prompt: Tags, group: str, tag: str) -> Op:
    prompt.tags.remove((group, tag))
    prompt.weighted.pop(tag, None)
    return Op("delete", tag)


def _set_edit(prompt: Tags, draw: Draw, group: str, phrase: Callable[[str], str]) -> Edit | None:
    changed = _set(prompt, draw, group)
    if changed is None:
        return None
    ops, new, gone = changed
    return Edit(phrase(new), ops, [new], gone, [(new,)])


def colour(prompt: Tags, draw: Draw) -> Edit | None:
    old = next(iter(prompt.of("hair_colour")), None)
    if old is None:
        return None
    shade = draw.value("colours", "all", lambda c: f"{c} hair" == old)
    new = f"{shade} hair"
    _swap(prompt, old, new, "hair_colour")
    text = draw.phrase("colour", "object", noun="hair", colour=shade, new=new)
    return Edit(text, [Op("replace", old, new)], [new], [old], [("hair",), (shade,)])


def _sky_cues(draw: Draw, time: str) -> list[str]:
    """Tags that go with a time tag (`blue sky, cloud` with `day`), which a new time makes wrong."""
    return next((entry["cues"] for entry in draw.vocab.pools("booru", "time_cues").train if entry["time"] == time), [])


def _with_sky(time: str, draw: Draw) -> list[tuple[str, str]]:
    """A time tag as booru prompts have it: alone, with a sky tag or two, or only the sky tags."""
    cues = _sky_cues(draw, time)
    if not cues or not draw.chance(0.5):
        return [("time", time)]
    sky = [("sky", cue) for cue in draw.rng.sample(cues, draw.rng.choice((1, 2)) if len(cues) > 1 else 1)]
    return sky if draw.chance(0.3) else [*sky, ("time", time)]


def _with_face(expression: str, draw: Draw) -> list[tuple[str, str]]:
    """An expression tag, now and then with a face tag that says the same (`crying, streaming tears`)."""
    entry = next((e for e in draw.vocab.pools("booru", "face_cues").train if e["expression"] == expression), None)
    if entry is None or not draw.chance(0.5):
        return [("expression", expression)]
    return [("expression", expression), ("face", draw.rng.choice(entry["cues"]))]


def atmosphere(prompt: Tags, draw: Draw) -> Edit | None:
    """A new time tag; the sky tags of the old time go (one may give way to a sky tag of the new).
    Or a new season, which replaces the one the prompt states."""
    if draw.chance(0.6 if prompt.of("season") else 0.1):
        return _set_edit(prompt, draw, "season", lambda new: draw.phrase("atmosphere", "time", say=new, tag=new))
    sky = prompt.of("sky")
    changed = _set(prompt, draw, "time")
    if changed is None:
        return None
    ops, new, gone = changed
    cues = [cue for cue in _sky_cues(draw, new) if not prompt.has(cue)]
    if sky and cues and draw.chance(0.5):
        cue = draw.rng.choice(cues)
        _swap(prompt, sky[0], cue, "sky")
        ops.append(Op("replace", sky[0], cue))
        gone.append(sky.pop(0))
    for tag in sky:
        ops.append(_drop(prompt, "sky", tag))
        gone.append(tag)
    text = draw.phrase("atmosphere", "time", say=new, tag=new)
    return Edit(text, ops, [new], gone, [(new,)])


def camera(prompt: Tags, draw: Draw) -> Edit | None:
    return _set_edit(prompt, draw, "framing", lambda new: draw.phrase("camera", "camera", a=with_article(new), bare=new))


def pose(prompt: Tags, draw: Draw) -> Edit | None:
    """A new expression, gesture (`waving`) or pose (`kneeling`), which takes what said the old one with it:
    a new expression the old face tags (`crying, streaming tears`), a new pose the old gestures (`standing,
    arms at sides` becomes `sitting`). A new gesture keeps the pose."""
    if prompt.person is None:
        return None
    who = f"the {prompt.person}"
    if draw.chance(0.5):
        group, cleared, kind, slot = "expression", "face", "expression", "expr"
    elif draw.chance(0.35):
        group, cleared, kind, slot = "gesture", None, "pose", "pose"
    else:
        group, cleared, kind, slot = "pose", "gesture", "pose", "pose"
    edit = _set_edit(prompt, draw, group, lambda new: draw.phrase("pose", kind, who=who, **{slot: new}))
    for tag in prompt.of(cleared) if edit is not None and cleared else []:
        edit.ops.append(_drop(prompt, cleared, tag))
        edit.exclude.append(tag)
    return edit


def mood(prompt: Tags, draw: Draw) -> Edit | None:
    """A new mood in one tag; every tag of the old one goes (`gloomy, dreary, bleak` -> `peaceful`)."""
    old = prompt.of("mood")
    stated = Mood(old[0], old[0], old[0], tuple(old[1:])) if old else None
    entry = draw.value("extras", "mood", lambda entry: clashes(entry, stated))
    if entry is None:
        return None
    changed = _set(prompt, draw, "mood", entry["key"])
    if changed is None:
        return None
    ops, new, gone = changed
    return Edit(draw.phrase("mood", "mood", say=entry["say"]), ops, [new], gone, [(new, entry["say"])])


NUMBERS = {1: "one", 2: "two", 3: "three"}


def count(prompt: Tags, draw: Draw) -> Edit | None:
    """How many characters: `1girl, solo` becomes `2girls, multiple girls`, and `2girls, multiple girls` one again."""
    now = next((tag for tag in prompt.of("count") if tag[:1] in "123"), None)
    if prompt.person is None or now is None:
        return None
    person, before = prompt.person, int(now[0])
    after = draw.rng.choice((2, 3)) if before == 1 else 1 if draw.chance(0.6) else 5 - before  # 5 - n: two <-> three
    new = f"1{person}" if after == 1 else f"{after}{person}s"
    usable = draw.vocab.pools("booru", "count").pick(None if draw.heldout else False)
    group = f"multiple {person}s" if after > 1 and f"multiple {person}s" in usable else ""
    _swap(prompt, now, new, "count")
    ops, gone = [Op("replace", now, new)], [now]
    for tag in prompt.of("count"):
        if (tag == "solo" and after > 1) or (tag.startswith("multiple ") and after == 1):
            ops.append(_drop(prompt, "count", tag))
            gone.append(tag)
    if group and not prompt.has(group):
        prompt.tags.insert(prompt.tags.index(("count", new)) + 1, ("count", group))
        ops.append(Op("add", group, anchor=new))
    if after == 1:
        text = draw.phrase("count", "one", noun=person, plural=f"{person}s", count=NUMBERS[before])
    else:
        text = draw.phrase("count", "count", count=NUMBERS[after], plural=f"{person}s", the=f"the {person}")
    return Edit(text, ops, [new], gone, [(person, f"{person}s")])


def style(prompt: Tags, draw: Draw) -> Edit | None:
    new = draw.value("styles", "all")
    changed = _set(prompt, draw, "style", new and strip_article(new))
    if changed is None:
        return None
    ops, bare, gone = changed
    text = draw.phrase("style", "style", a=new, bare=bare)
    return Edit(text, ops, [bare], gone, [(bare,)])


def weight(prompt: Tags, draw: Draw) -> Edit | None:
    options = [t for g, t in prompt.tags if g not in ("count", "quality")]
    if not options:
        return None
    bare = draw.rng.choice(options)
    old = prompt.weighted.get(bare, bare)
    more = draw.chance(0.5)
    new = reweighted(old, bare, more, draw)
    if new == old:
        return None
    prompt.weighted[bare] = new
    if new == bare:
        prompt.weighted.pop(bare)
    text = draw.phrase("weight", "more" if more else "less", x=bare)
    exact, absent = weight_checks(bare, old, more)
    return Edit(text, [Op("replace", old, new)], [bare], [], [(bare,)], exact, absent)


def beautify(prompt: Tags, draw: Draw) -> Edit | None:
    missing = [q for q in draw.vocab.pools("booru", "quality").train if not prompt.has(q)]
    if len(missing) < 2:
        return None
    chosen = draw.rng.sample(missing, 2)
    prompt.tags += [("quality", q) for q in chosen]
    return Edit(draw.phrase("beautify", "expand"), [Op("quality", ", ".join(chosen))], include=[new_quality(draw, prompt.text)])


def revisit(prompt: Tags, draw: Draw) -> Edit | None:
    if not prompt.removed:
        return None
    group, tag = prompt.removed.pop()
    if prompt.has(tag):
        return None
    op = _add(prompt, draw, group, tag)
    text = draw.phrase("revisit", "restore", the=f"the {tag}", bare=tag)
    return Edit(text, [op], [tag], [], [(tag,)])


BOORU: dict[str, Callable[[Tags, Draw], Edit | None]] = {
    "add": add,
    "remove": remove,
    "replace": swap,
    "style": style,
    "atmosphere": atmosphere,
    "colour": colour,
    "camera": camera,
    "beautify": beautify,
    "pose": pose,
    "weight": weight,
    "count": count,
    "mood": mood,
}


def render(prompt: Tags) -> list[str]:
    """The tags as the prompt writes them (with their emphasis)."""
    return [prompt.weighted.get(tag, tag) for _, tag in prompt.tags]
