"""From a (prompt, edited prompt) pair to the edit script that turns one into the other.

Training data comes as pairs (released InstructPE records, our builder's records, a user's
hand edit in the TUI), but the model learns to write scripts; this is where pairs become
scripts. Every script made here is checked by applying it: when the fine-grained script does
not give back the edited prompt exactly (up to spacing), coarser ones are tried, and when the
edit touches most of the prompt the script is one `=` rewrite.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass

from diffchat_tui.core.edit_script import ARTICLES, CONNECTIVES, PREPOSITIONS, Op, apply_script
from diffchat_tui.core.prompt_syntax import Parsed, Unit, parse

REWRITE_SHARE = 0.6
"""Past this share of the prompt's words changed, an edit is a rewrite, not a few operations."""
_SEPARATORS = ("comma", "newline")


def normalized(text: str) -> str:
    """Spacing-insensitive form used to decide that two prompts are the same prompt."""
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ?, ?", ", ", text)
    text = re.sub(r" *\n *", "\n", text)
    return text.strip(" ,\n")


@dataclass(frozen=True)
class Hunk:
    """One changed stretch: units [i1, i2) of the old prompt became units [j1, j2) of the new one."""

    i1: int
    i2: int
    j1: int
    j2: int


def script_from_pair(current: str, target: str, quality: Collection[str] = ()) -> list[Op]:
    """The shortest checked script from current to target; quality words added at the end become a `*` op.

    quality is the vocabulary of quality words (lower case) the data's beautifier uses.
    """
    if normalized(current) == normalized(target):
        return []
    old, new = parse(current), parse(target)
    old_units, new_units = _solid(old), _solid(new)
    hunks = _hunks(old, new, old_units, new_units)
    changed = sum(sum(1 for u in old_units[h.i1 : h.i2] if u.kind != "comma") for h in hunks)
    if not old_units or changed > REWRITE_SHARE * len([u for u in old_units if u.kind != "comma"]):
        return [Op("rewrite", target)]
    quality_set = {word.lower() for word in quality}
    for coarse in (False, True):
        ops = _script(current, target, old, new, old_units, new_units, hunks, quality_set, coarse)
        if ops is not None:
            return ops
    return [Op("rewrite", target)]


def _solid(parsed: Parsed) -> list[Unit]:
    return [unit for unit in parsed.units if unit.kind != "space"]


def _hunks(old: Parsed, new: Parsed, old_units: list[Unit], new_units: list[Unit]) -> list[Hunk]:
    """Changed stretches, with stretches only one unchanged word apart merged into one."""
    a = [old.unit_text(u) for u in old_units]
    b = [new.unit_text(u) for u in new_units]
    hunks: list[Hunk] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if hunks:
            last = hunks[-1]
            gap = [u for u in old_units[last.i2 : i1] if u.kind not in _SEPARATORS]
            if len(gap) <= 1 and not any(u.kind in _SEPARATORS for u in old_units[last.i2 : i1]):
                hunks[-1] = Hunk(last.i1, i2, last.j1, j2)
                continue
        hunks.append(Hunk(i1, i2, j1, j2))
    return hunks


def _script(current, target, old, new, old_units, new_units, hunks, quality, coarse) -> list[Op] | None:
    """Build ops right to left (so the prompt left of each hunk is still the original), checking each."""
    state = current
    ops: list[Op] = []
    for hunk in reversed(hunks):
        expected = _splice(current, target, old_units, new_units, hunk, state)
        for op in _candidates(old, new, old_units, new_units, hunk, quality, coarse):
            result = apply_script(state, op)
            if result.clean and normalized(result.prompt) == normalized(expected):
                ops[:0] = op
                state = result.prompt
                break
        else:
            return None
    if normalized(state) != normalized(target):
        return None
    forward = apply_script(current, ops)  # read in prompt order when that gives the same result
    return ops if forward.clean and normalized(forward.prompt) == normalized(target) else list(reversed(ops))


def _splice(current, target, old_units, new_units, hunk: Hunk, state: str) -> str:
    """The state once this hunk is done: the original up to it, its new text, and the already edited rest."""
    old_start = old_units[hunk.i1].start if hunk.i1 < len(old_units) else len(current)
    old_next = old_units[hunk.i2].start if hunk.i2 < len(old_units) else len(current)
    new_start = new_units[hunk.j1].start if hunk.j1 < len(new_units) else len(target)
    new_next = new_units[hunk.j2].start if hunk.j2 < len(new_units) else len(target)
    rest = state[old_next:]  # left of the hunks already done, state is still the original
    return current[:old_start] + target[new_start:new_next] + rest


def _text(parsed: Parsed, units: list[Unit]) -> str:
    return parsed.text[units[0].start : units[-1].end] if units else ""


def _trim(units: list[Unit]) -> list[Unit]:
    start, end = 0, len(units)
    while start < end and units[start].kind in _SEPARATORS:
        start += 1
    while end > start and units[end - 1].kind in _SEPARATORS:
        end -= 1
    return units[start:end]


def _candidates(old, new, old_units, new_units, hunk, quality, coarse) -> list[list[Op]]:
    removed, added = _trim(old_units[hunk.i1 : hunk.i2]), _trim(new_units[hunk.j1 : hunk.j2])
    if coarse:
        return [[Op("replace", _phrase(old, old_units, hunk.i1, hunk.i2), _phrase(new, new_units, hunk.j1, hunk.j2))]]
    found: list[list[Op]] = []
    if removed and not added:
        words = _text(old, removed)
        bare = removed[1:] if old.unit_text(removed[0]).lower() in CONNECTIVES and len(removed) > 1 else removed
        found += [[Op("delete", _text(old, bare))], [Op("delete", words)]]
        found += [[Op("delete", quote)] for quote in _widened(old, old_units, hunk.i1, hunk.i2)]
    elif added and not removed:
        found += _additions(old, new, old_units, new_units, hunk, added, quality)
    else:
        before, after = _text(old, removed), _text(new, added)
        if len([u for u in removed if u.kind == "word"]) == 1 and len([u for u in added if u.kind == "word"]) == 1:
            grown = _grown(old, new, old_units, new_units, hunk)
            if grown:
                found.append([Op("replace", *grown)])
        found.append([Op("replace", before, after)])
        for quote in _widened(old, old_units, hunk.i1, hunk.i2):
            found.append([Op("replace", quote, quote.replace(before, after, 1))] if before in quote else [])
    found.append([Op("replace", _phrase(old, old_units, hunk.i1, hunk.i2), _phrase(new, new_units, hunk.j1, hunk.j2))])
    return [ops for ops in found if ops and all(op.text.strip() and (op.kind != "replace" or op.new.strip()) for op in ops)]


def _additions(old, new, old_units, new_units, hunk, added, quality) -> list[list[Op]]:
    text = _text(new, added)
    phrases = [p.strip() for p in text.split(",") if p.strip()]
    content = [p for p in phrases if p.lower() not in quality]
    extra = [p for p in phrases if p.lower() in quality]
    ops = ([Op("add", ", ".join(content))] if content else []) + ([Op("quality", ", ".join(extra))] if extra else [])
    if extra and content and phrases != content + extra:
        ops = [Op("add", text)]
    found = [ops, [Op("add", text)]]
    before = _trim(old_units[: hunk.i1])
    if before:  # the phrase it follows, from its start or by its last words when that is unique
        start = max((i for i, u in enumerate(before) if u.kind in _SEPARATORS), default=-1) + 1
        phrase = before[start:]
        for size in (len(phrase), 3, 2, 1):
            if 0 < size <= len(phrase):
                found.append([Op("add", text, anchor=_text(old, phrase[-size:]))])
    # a word or two added inside a phrase: replace the phrase around it
    left = [u for u in old_units[max(0, hunk.i1 - 2) : hunk.i1] if u.kind not in _SEPARATORS]
    if left:
        quote = old.text[left[0].start : left[-1].end]
        grown = new.text[new_units[hunk.j1 - len(left)].start : added[-1].end] if hunk.j1 >= len(left) else ""
        if grown:
            found.append([Op("replace", quote, grown)])
    return found


def _grown(old, new, old_units, new_units, hunk) -> tuple[str, str] | None:
    """A one-word change quoted with the word after it ("red umbrella -> blue umbrella") or its article."""
    after_old = old_units[hunk.i2] if hunk.i2 < len(old_units) else None
    after_new = new_units[hunk.j2] if hunk.j2 < len(new_units) else None
    if after_old is not None and after_old.kind == "word" and after_new is not None:
        word = old.unit_text(after_old)
        if word.lower() not in CONNECTIVES | ARTICLES | PREPOSITIONS:
            return (old.text[old_units[hunk.i1].start : after_old.end], new.text[new_units[hunk.j1].start : after_new.end])
    before_old = old_units[hunk.i1 - 1] if hunk.i1 > 0 else None
    if before_old is not None and old.unit_text(before_old).lower() in ARTICLES and hunk.j1 > 0:
        return (old.text[before_old.start : old_units[hunk.i2 - 1].end], new.text[new_units[hunk.j1 - 1].start : new_units[hunk.j2 - 1].end])
    return None


def _widened(parsed: Parsed, units: list[Unit], i1: int, i2: int) -> list[str]:
    """The stretch with more words around it, for when its own words are not unique in the prompt."""
    quotes = []
    for left, right in ((1, 0), (0, 1), (1, 1), (2, 1), (1, 2), (2, 2)):
        a, b = max(0, i1 - left), min(len(units), i2 + right)
        if a >= b or any(u.kind in _SEPARATORS for u in units[a:i1] + units[i2:b]):
            continue
        quotes.append(parsed.text[units[a].start : units[b - 1].end])
    return quotes


def _phrase(parsed: Parsed, units: list[Unit], i1: int, i2: int) -> str:
    """The whole comma phrases a stretch lies in."""
    start = i1
    while start > 0 and units[start - 1].kind not in _SEPARATORS:
        start -= 1
    end = i2
    while end < len(units) and units[end].kind not in _SEPARATORS:
        end += 1
    trimmed = _trim(units[start:end])
    return _text(parsed, trimmed)
