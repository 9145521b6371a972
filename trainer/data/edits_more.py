"""The edit kinds people ask for beyond add/remove/replace/restyle: size, count, text in the picture,
position, pose or expression, mood, emphasis weights, and putting back what an earlier turn removed.
"""

from __future__ import annotations

import re
from functools import cache

from diffchat_tui.core.edit_script import Op
from trainer.data.draw import Draw, Edit
from trainer.data.edits import ALTERNATIVES, add_op, clashes, named_words, shift_mood
from trainer.data.scene import Scene, Thing, plural, strip_article
from trainer.data.vocab import Vocab

_WEIGHT = re.compile(r"^\((?P<text>.*):(?P<weight>[\d.]+)\)$")


def _things(scene: Scene, draw: Draw, usable) -> list[tuple[int | None, Thing]]:
    """(index in objects or None for the subject, thing) of everything usable allows."""
    found = [(index, thing) for index, thing in enumerate(scene.objects) if usable(thing)]
    if scene.kind != "person" and usable(scene.subject):
        found.append((None, scene.subject))
    return found


def _put(scene: Scene, index: int | None, thing: Thing) -> None:
    if index is None:
        scene.subject = thing
    else:
        scene.objects[index] = thing


def _template_used(draw: Draw, field: str) -> bool:
    return "{" + field + "}" in draw.templates[-1][2]


def size(scene: Scene, draw: Draw) -> Edit | None:
    """A new size; a thing the prompt already sizes (`a tiny dragon`) goes the other way, or back to normal."""
    options = _things(scene, draw, lambda thing: thing.countable and thing.count is None and thing.position is None)
    if not options:
        return None
    index, old = draw.rng.choice([option for option in options if option[1].size] or options)
    the, gone = f"the {strip_article(old.base)}", [old.bare] if old.size else []
    if old.size and draw.chance(0.3):
        new = old.changed(size=None)
        _put(scene, index, new)
        text = draw.phrase("size", "normal", the=the, noun=old.head, size=old.size)
        return Edit(text, [Op("replace", old.text, new.text)], [old.head], gone, [(old.head,)])
    if old.size:
        kind = "small" if old.size in draw.vocab.pools("extras", "size_big").pick(None) else "big"
    else:
        kind = draw.rng.choice(("big", "small"))
    word = draw.value("extras", f"size_{kind}")
    new = old.changed(size=word)
    _put(scene, index, new)
    text = draw.phrase("size", kind, the=the, noun=old.head, size=word)
    include = word if _template_used(draw, "size") else ALTERNATIVES.join(draw.vocab.pools("extras", f"size_{kind}").pick(None))
    return Edit(text, [Op("replace", old.text, new.text)], [include, old.head], gone, [(old.head,)])


def count(scene: Scene, draw: Draw) -> Edit | None:
    """Many of one thing, or one of a thing the prompt already counts (`only one cat` on `three cats`)."""
    options = [(i, t) for i, t in _things(scene, draw, lambda t: t.countable and not t.position) if i is not None]
    counted = [(i, t) for i, t in options if t.count]
    if counted:
        index, old = draw.rng.choice(counted)
        new = old.changed(count=None)
        _put(scene, index, new)
        noun = strip_article(old.base)
        text = draw.phrase("count", "one", noun=noun, plural=plural(noun), count=old.count)
        return Edit(text, [Op("replace", old.text, new.text)], [new.head], [old.bare], [(new.head, old.head)])
    if not options:
        return None
    index, old = draw.rng.choice(options)
    number = draw.value("extras", "count")
    new = old.changed(count=number, size=None)
    _put(scene, index, new)
    many = plural(strip_article(old.base))
    text = draw.phrase("count", "count", count=number, plural=many, the=f"the {old.bare}")
    return Edit(text, [Op("replace", old.text, new.text)], [number, new.head], [], [(number,), (old.head, new.head)])


def _sign(scene: Scene) -> tuple[int, Thing] | None:
    for index, thing in enumerate(scene.objects):
        if ' that reads "' in thing.template:
            return index, thing
    return None


def text(scene: Scene, draw: Draw) -> Edit | None:
    existing = _sign(scene)
    if existing is not None and draw.chance(0.6):
        index, old = existing
        old_word = old.template.rsplit('"', 2)[1]
        word = sign_words(draw, unlike=old_word)
        scene.objects[index] = Thing(old.template.replace(f'"{old_word}"', f'"{word}"'))
        phrase = draw.phrase("text", "change", text=word, old=old_word)
        return Edit(phrase, [Op("replace", f'"{old_word}"', f'"{word}"')], [word], [old_word], [(word,), (old_word,)])
    if existing is not None:
        return None
    plain = [(i, thing) for i, thing in enumerate(scene.objects) if not (thing.count or thing.position)]
    if plain and (len(scene.objects) >= 3 or draw.chance(0.35)):  # words on something already there
        index, old = draw.rng.choice(plain)
        word = sign_words(draw)
        scene.objects[index] = Thing(f'{old.text} that reads "{word}"')
        phrase = draw.phrase("text", "label", bare=old.bare, text=word)
        return Edit(phrase, [Op("replace", old.text, scene.objects[index].text)], [word, old.head], [], [(word,), (old.head,)])
    if len(scene.objects) >= 3:
        return None
    carrier = draw.value("extras", "text_carrier")
    word = sign_words(draw)
    thing = Thing(f'{carrier} that reads "{word}"')
    op = add_op(scene, draw, thing.text)
    scene.objects.append(thing)
    noun = strip_article(carrier).split()[-1]
    phrase = draw.phrase("text", "add", carrier=carrier, text=word)
    return Edit(phrase, [op], [word, noun], [], [(word,), (noun,)])


def sign_words(draw: Draw, unlike: str = "") -> str:
    """What a sign says. Training records mostly make words up from the vocabularies, so the model learns to
    copy what it is asked to write instead of recalling a short list; held-out records use the held-out list."""
    if draw.heldout or draw.chance(0.25):
        return draw.value("extras", "text_words", lambda entry: entry == unlike)
    words = " ".join(draw.rng.sample(_sign_vocabulary(draw.vocab), draw.rng.choice((1, 1, 2, 2, 3))))
    words = draw.rng.choice((str.upper, str.upper, str.title, str.capitalize))(words)
    if draw.chance(0.15):
        words += " " + draw.rng.choice(("24H", "2025", "No. 7", "24/7", "1987", "#1"))
    return words if words != unlike else sign_words(draw, unlike)


@cache
def _sign_vocabulary(vocab: Vocab) -> list[str]:
    """Words of the training subjects, objects and settings: `umbrella`, `lighthouse`, `harbor`, ..."""
    found = set()
    for name in ("subjects", "objects", "settings"):
        for pools in vocab.words[name].values():
            for entry in pools.train:
                found.update(word for word in re.findall(r"[a-z]{4,}", entry.replace("{colour}", "")) if word not in _GLUE)
    return sorted(found)


_GLUE = {"that", "with", "from", "into", "under", "inside", "near", "beside", "along", "atop", "across", "some", "their"}


def position(scene: Scene, draw: Draw) -> Edit | None:
    """Put a thing somewhere; a thing that already has a place moves, and its old place goes."""
    if not scene.objects:
        return None
    placed = [(i, t) for i, t in enumerate(scene.objects) if t.position]
    index, old = draw.rng.choice(placed or list(enumerate(scene.objects)))
    where = draw.value("extras", "position", lambda entry: entry == old.position)
    if where is None:
        return None
    new = old.changed(position=where)
    scene.objects[index] = new
    the = f"the {strip_article(old.changed(position=None).text)}"
    phrase = draw.phrase("position", "move", the=the, where=where)
    key = where.split()[-1]
    gone = [strip_article(old.text)] if old.position else []
    return Edit(phrase, [Op("replace", old.text, new.text)], [key, old.head], gone, [(old.head,), (key,)])


def pose(scene: Scene, draw: Draw) -> Edit | None:
    if scene.kind == "thing":
        return None
    expression = scene.kind == "person" and draw.chance(0.5)
    group = "expression" if expression else f"pose_{scene.kind}"
    new = draw.value("extras", group, lambda entry: entry == scene.action)
    if new is None:
        return None
    old = scene.action
    who = f"the {scene.subject.head}"
    phrase = draw.phrase("pose", "expression", who=who, expr=new) if expression else draw.phrase("pose", "pose", who=who, pose=new)
    if old:
        op = Op("replace", f"{scene.subject.text} {old}", f"{scene.subject.text} {new}")
    else:
        op = Op("replace", scene.subject.text, f"{scene.subject.text} {new}")
    scene.action = new
    exclude = [old] if old and not set(old.split()) & set(new.split()) else []
    ops = [op]
    if scene.gesture and not expression:  # a new pose is the whole body's: `arms folded` goes with `standing`
        ops.append(Op("delete", scene.gesture))
        exclude.append(scene.gesture)
        scene.gesture = None
    return Edit(phrase, ops, [new], exclude, [(new,)])


def mood(scene: Scene, draw: Draw) -> Edit | None:
    entry = draw.value("extras", "mood", lambda entry: clashes(entry, scene.mood))
    if entry is None:
        return None
    ops, gone = shift_mood(scene, draw, "mood", entry)
    phrase = draw.phrase("mood", "mood", say=entry["say"])
    return Edit(phrase, ops, [entry["key"]], gone, [(entry["key"], entry["say"])])


def weighable(scene: Scene, draw: Draw) -> list[str]:
    """Phrases of a tag prompt that may carry an emphasis weight, as the scene knows their text."""
    values = [scene.lighting, scene.palette, scene.camera, scene.style]
    phrases = [strip_article(v) if draw.tagged else v for v in values if v]
    phrases += [thing.text for thing in scene.objects] + [m.tag for m in (scene.time, scene.weather, scene.mood) if m and m.tagged]
    return phrases


def weight(scene: Scene, draw: Draw) -> Edit | None:
    if draw.register == "sentence":
        return None
    options = weighable(scene, draw)
    if not options:
        return None
    bare = draw.rng.choice(options)
    old = scene.weighted.get(bare, bare)
    more = draw.chance(0.5)
    new = reweighted(old, bare, more, draw)
    if new == old:
        return None
    if new == bare:
        scene.weighted.pop(bare, None)
    else:
        scene.weighted[bare] = new
    phrase = draw.phrase("weight", "more" if more else "less", x=strip_article(bare))
    exact, absent = weight_checks(bare, old, more)
    return Edit(phrase, [Op("replace", old, new)], [bare], [], [(strip_article(bare),)], exact, absent)


def weight_checks(bare: str, old: str, more: bool) -> tuple[list[str], list[str]]:
    """(exact, exact_absent) of an emphasis change: any weight on the asked side, and the old form gone.

    The model picks the number; "less" of a weighted phrase may also drop the brackets, so only the old
    form's absence is checked there.
    """
    absent = [old] if old != bare else []
    current = float(match["weight"]) if (match := _WEIGHT.match(old)) else 1.1 if old.startswith("(") else 1.0
    if more:
        weights = [round(w / 10, 1) for w in range(11, 21) if w / 10 > current]
        return [ALTERNATIVES.join([f"({bare}:{w})" for w in weights] + [f"(({bare}))", f"((({bare})))"])], absent
    if old == bare:
        return [ALTERNATIVES.join([f"({bare}:{w / 10})" for w in range(1, 10)] + [f"[{bare}]", f"[[{bare}]]"])], absent
    return [], absent


def reweighted(current: str, bare: str, more: bool, draw: Draw) -> str:
    """The same phrase with more or less emphasis, the way A1111 users write it."""
    step = draw.rng.choice((0.2, 0.3))
    match = _WEIGHT.match(current)
    if match:
        value = float(match["weight"]) + (step if more else -step)
        if not more and value <= 1.0 and draw.chance(0.5):
            return bare
        return f"({bare}:{min(max(value, 0.5), 2.0):.1f})"
    if current.startswith("(("):
        return f"({bare}:1.4)" if more else bare
    if current.startswith("("):
        return f"({bare}:1.3)" if more else bare
    if current.startswith("["):
        return bare if more else f"({bare}:0.7)"
    if more:
        return draw.rng.choice((f"({bare}:1.3)", f"(({bare}))", f"({bare}:1.4)"))
    return draw.rng.choice((f"({bare}:0.8)", f"[{bare}]", f"({bare}:0.7)"))


def revisit(scene: Scene, draw: Draw) -> Edit | None:
    if not scene.removed or len(scene.objects) >= 3:
        return None
    thing = scene.removed.pop()
    if thing.head in scene.heads():
        return None
    op = add_op(scene, draw, thing.text)
    scene.objects.append(thing)
    phrase = draw.phrase("revisit", "restore", the=f"the {thing.bare}", bare=thing.bare)
    return Edit(phrase, [op], [thing.head], [], [(thing.head,)])


MORE = {"size": size, "count": count, "text": text, "position": position, "pose": pose, "mood": mood, "weight": weight}
"""Kinds any turn may use; `revisit` only follows a turn that removed something."""
__all__ = ["MORE", "named_words", "revisit", "reweighted", "weighable"]
