"""Requests about the negative prompt: "no text or watermarks", "avoid blur", "blur is fine again".

"No X" means two things: with X in the prompt it is a removal (remove category); with X not in
it, the user wants X kept out of the picture, which is the negative prompt's job. These edits
teach the second reading with `!` operations.
"""

from __future__ import annotations

from diffchat_tui.core.edit_script import Op
from trainer.data.draw import Draw, Edit
from trainer.data.schema import PhraseIndex

SOURCE_SHARE = 0.35
"""Share of tag, community and booru sources pasted with a negative prompt."""


def negative_source(draw: Draw) -> list[str]:
    """A negative prompt as people paste them: a handful of the usual tags, or none."""
    if draw.register == "sentence" or not draw.chance(SOURCE_SHARE):
        return []
    pool = draw.vocab.pools("extras", "negative_common").pick(None if draw.heldout else False)
    return draw.rng.sample(pool, draw.rng.randint(3, 7))


def avoid(state, draw: Draw) -> Edit | None:
    """Keep something out of the picture: add its tags to the negative prompt."""
    present = PhraseIndex(state.text)
    negative = PhraseIndex(", ".join(state.negative))
    entry = draw.value("extras", "negative_ask", lambda e: any(present.has(tag) or negative.has(tag) for tag in _tags(e)))
    if entry is None:
        return None
    tags = _tags(entry)
    state.negative += tags
    text = draw.phrase("negative", "avoid", say=entry["say"])
    return Edit(text, [Op("add", ", ".join(tags), negative=True)], mentions=[(entry["say"],)], negative_include=tags)


def allow(state, draw: Draw) -> Edit | None:
    """Let something back: take its tag out of the negative prompt."""
    asked = {tag: entry for entry in draw.vocab.pools("extras", "negative_ask").pick(None) for tag in _tags(entry)}
    candidates = [tag for tag in state.negative if tag in asked and len(_tags(asked[tag])) == 1]
    if not candidates:
        return None
    tag = draw.rng.choice(candidates)
    state.negative.remove(tag)
    text = draw.phrase("negative", "allow", say=asked[tag]["say"])
    return Edit(text, [Op("delete", tag, negative=True)], mentions=[(asked[tag]["say"],)], negative_exclude=[tag])


def _tags(entry: dict) -> list[str]:
    return [tag.strip() for tag in entry["tags"].split(",")]


def negative(state, draw: Draw) -> Edit | None:
    """Mostly "keep X out", now and then "X is fine again"."""
    if state.negative and draw.chance(0.3):
        return allow(state, draw) or avoid(state, draw)
    return avoid(state, draw)
