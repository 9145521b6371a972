"""Edit scripts: what the model writes instead of a whole new prompt, and the code that applies them.

A small model cannot be trusted to copy a long prompt word for word, so it names only what
changes, one operation per line, and this module edits the prompt. Text no operation touches
never passes through the model and comes out byte for byte, A1111 syntax included.

    - SPAN                delete SPAN (with the comma or the "and"/"with" that joined it)
    ~ SPAN -> TEXT        replace SPAN with TEXT (old first, as "turn X into Y" reads)
    + TEXT                add TEXT as a new phrase at the end (before trailing <lora:...> tags)
    + TEXT @ SPAN         add TEXT as a new phrase right after SPAN
    * WORDS               quality words (beautify); skipped when beautify is off or already there
    = PROMPT              rewrite the whole prompt (a fallback for edits that touch most of it)
    !+ TEXT, !- SPAN, !~ SPAN -> TEXT
                          the same on the negative prompt ("no text or watermarks" -> `!+ text, watermark`)

SPAN quotes the current prompt. Quoting is forgiving: case, punctuation, brackets and a
leading article do not have to match, and a slightly wrong quote still finds its span when
it is close enough. Parsing and applying never raise: every line that cannot be used is
reported with a reason, so the caller can retry or fall back.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from diffchat_tui.core.prompt_syntax import Parsed, Unit, is_balanced, parse

OpKind = Literal["delete", "replace", "add", "quality", "rewrite"]
SYMBOLS: dict[OpKind, str] = {"delete": "-", "replace": "~", "add": "+", "quality": "*", "rewrite": "="}
_KIND_OF = {symbol: kind for kind, symbol in SYMBOLS.items()}
ARROWS = ("->", "=>", "→")
ANCHOR = " @ "
MAX_OPS = 12
"""More operations than this is not an edit but a loop; the rest are ignored."""
FUZZY_MIN = 0.75
"""How alike a misquoted span and the prompt's words must be (difflib ratio) to be taken for it."""
ARTICLES = frozenset({"a", "an", "the", "some"})
CONNECTIVES = frozenset({"and", "with", "or", "featuring", "plus", "&", "of", "holding", "wearing"})
"""Words that joined a deleted phrase to its neighbours and make no sense once it is gone."""
QUOTATION_MARKS = "\"“”«»"
"""Marks that belong to the text around a word (a sign's wording), not to the word a replacement changes."""
PREPOSITIONS = frozenset(
    "in on at by under near beside behind above below over inside along across atop against during from into".split()
)


@dataclass(frozen=True)
class Op:
    """One line of a script."""

    kind: OpKind
    text: str
    """delete/replace: the quoted span; add: the new phrase; quality: the words; rewrite: the prompt."""
    new: str = ""
    """replace: what the span becomes."""
    anchor: str = ""
    """add: the span the new phrase goes after (empty: at the end)."""
    negative: bool = False
    """The op edits the negative prompt (delete, replace and add only)."""

    def line(self) -> str:
        symbol = ("!" if self.negative else "") + SYMBOLS[self.kind]
        if self.kind == "replace":
            return f"{symbol} {self.text} -> {self.new}"
        if self.kind == "add" and self.anchor:
            return f"{symbol} {self.text}{ANCHOR}{self.anchor}"
        return f"{symbol} {self.text}"


@dataclass
class Script:
    ops: list[Op] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Lines that are not operations, each with its reason."""

    @property
    def text(self) -> str:
        return format_script(self.ops)


def format_script(ops: list[Op]) -> str:
    return "\n".join(op.line() for op in ops)


def parse_script(text: str) -> Script:
    """Read a model's answer as operations; bad lines are collected, never raised."""
    script = Script()
    for raw in text.splitlines():
        line = raw.strip().strip("`").strip()
        if not line:
            continue
        if len(script.ops) >= MAX_OPS:
            script.errors.append(f"more than {MAX_OPS} operations; ignored {line!r}")
            break
        op = _parse_line(line)
        if isinstance(op, str):
            script.errors.append(op)
        elif op not in script.ops:  # a repeated line is a loop, not a second edit
            script.ops.append(op)
    return script


def _parse_line(line: str) -> Op | str:
    negative = line.startswith("!")
    if negative:
        line = line[1:].lstrip()
    symbol, body = line[:1], line[1:].strip()
    kind = _KIND_OF.get(symbol)
    if kind is None:
        return f"not an operation: {line!r}"
    if negative and kind in ("quality", "rewrite"):
        return f"the negative prompt takes -, ~ and + only: {line!r}"
    if not body:
        return f"empty operation: {line!r}"
    op = _parse_body(kind, body, line)
    return replace(op, negative=True) if negative and isinstance(op, Op) else op


def _parse_body(kind: OpKind, body: str, line: str) -> Op | str:
    if kind == "replace":
        for arrow in ARROWS:
            old, found, new = body.partition(arrow)
            if found:
                old, new = old.strip(), new.strip()
                if not old or not new:
                    return f"a replacement needs both sides: {line!r}"
                return Op("replace", old, new)
        return f"a replacement needs 'OLD -> NEW': {line!r}"
    if kind == "add" and ANCHOR.strip() in body:
        text, _, anchor = body.rpartition(ANCHOR.strip())
        if text.strip() and anchor.strip():
            return Op("add", text.strip(), anchor=anchor.strip())
    return Op(kind, body)


@dataclass
class Applied:
    """The edited prompt and negative prompt, the operations that took effect, and why the others did not."""

    prompt: str
    negative: str = ""
    done: list[Op] = field(default_factory=list)
    failed: list[tuple[Op, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.failed


def apply_script(prompt: str, ops: list[Op], *, beautify: bool = True, negative: str = "") -> Applied:
    """Apply operations in order; each sees the prompts as the ones before it left them."""
    result = Applied(prompt, negative)
    for op in ops:
        if op.kind == "quality" and not beautify:
            continue
        outcome = _apply_op(result.negative if op.negative else result.prompt, op)
        if outcome.startswith("!"):
            result.failed.append((op, outcome[1:]))
            continue
        if op.negative:
            result.negative = outcome
        else:
            result.prompt = outcome
        result.done.append(op)
    return result


def _apply_op(prompt: str, op: Op) -> str:
    """The new prompt, or a reason prefixed with '!'."""
    if op.kind == "rewrite":
        return op.text
    if op.kind in ("add", "quality"):
        return _add(prompt, op)
    parsed = parse(prompt)
    span = find_span(parsed, op.text)
    if op.kind == "replace":
        if span is None and find_span(parsed, op.new) is not None and find_span(parse(op.new), op.text) is None:
            return _apply_op(prompt, Op("replace", op.new, op.text))  # the two sides came out swapped
        if span is None:
            return f"!{op.text!r} is not in the prompt"
        span = _inside_quotes(prompt, span, op.text)
        new = _balanced(op.new)
        if not new:
            return f"!the replacement for {op.text!r} is empty"
        if _reads_already(prompt[span[0] :], new):  # `a rainbow -> a rainbow on the right` before "on the right"
            return f"!{op.text!r} -> {op.new!r} changes nothing"
        others = re.split(r"[,\n]", prompt[: span[0]] + "," + prompt[span[1] :])
        if _spaced(new.lower()) in {_spaced(phrase.lower()) for phrase in others}:
            return f"!{op.new!r} is already in the prompt"  # "buildings, buildings"
        return prompt[: span[0]] + new + prompt[span[1] :]
    if span is None:
        return f"!{op.text!r} is not in the prompt"
    return delete_span(parsed, *span)


def _inside_quotes(prompt: str, span: tuple[int, int], quote: str) -> tuple[int, int]:
    """A span without the quotation marks around it that the quote left out: `~ sale -> SALE` keeps `"SALE"`."""
    start, end = span
    while start < end and prompt[start] in QUOTATION_MARKS and not quote.lstrip().startswith(prompt[start]):
        start += 1
    while end > start and prompt[end - 1] in QUOTATION_MARKS and not quote.rstrip().endswith(prompt[end - 1]):
        end -= 1
    return start, end


def _reads_already(text: str, new: str) -> bool:
    """Whether text starts with the words of new, whole and in the same case (`sale -> SALE` is an edit)."""
    text, new = _spaced(text), _spaced(new)
    return text.startswith(new) and not text[len(new) : len(new) + 1].isalnum()


def _spaced(text: str) -> str:
    return " ".join(text.split())


def _add(prompt: str, op: Op) -> str:
    # Comma lists are added phrase by phrase, skipping what is there; text with brackets stays whole.
    plain = not re.search(r"[()\[\]{}<>]", op.text)
    phrases = [word.strip() for word in op.text.split(",")] if plain else [op.text]
    present = f" {word_keys(prompt)} "
    fresh = [_balanced(p) for p in phrases if f" {word_keys(p)} " not in present]
    fresh = [p for p in dict.fromkeys(fresh) if p]
    if not fresh:
        return prompt if op.kind == "quality" else f"!{op.text!r} is already in the prompt"
    parsed = parse(prompt)
    if op.anchor:
        span = find_span(parsed, op.anchor) or _atom_holding(parsed, op.anchor)
        if span is None:
            return f"!anchor {op.anchor!r} is not in the prompt"
        at = _end_of_phrase(parsed, span[1])
    else:
        at = _end_of_content(parsed)
    return insert_phrase(prompt, at, ", ".join(fresh))


def _atom_holding(parsed: Parsed, quote: str) -> tuple[int, int] | None:
    """The span of an atom whose words hold the quote's: an anchor may name `cat` in `[cat:fox:0.5]`."""
    wanted = re.findall(r"\w+", quote.lower())
    for unit in parsed.units:
        if unit.kind == "atom" and wanted and set(wanted) <= set(re.findall(r"\w+", parsed.unit_text(unit).lower())):
            return unit.start, unit.end
    return None


def insert_phrase(prompt: str, at: int, phrase: str) -> str:
    """Put a new comma-separated phrase at `at`, touching only the separators next to it."""
    before, after = prompt[:at], prompt[at:]
    left = before.rstrip(" \t")
    if not left.strip():
        text = phrase
    elif left.endswith("\n"):
        text = left + phrase
    else:
        text = left + ("" if left.endswith(",") else ",") + " " + phrase
    if not after.strip():
        return text  # nothing but trailing whitespace after it
    if not after.lstrip(" \t").startswith((",", "\n")):
        after = ", " + after.lstrip(" \t")
    return text + after


def _end_of_phrase(parsed: Parsed, position: int) -> int:
    """The end of the phrase holding `position`: the next comma, line break or BREAK/AND outside brackets."""
    for unit in parsed.units:
        if unit.start >= position and unit.kind in ("comma", "newline", "keyword"):
            if not any(group.start < unit.start < group.end for group in parsed.groups):
                return unit.start
    return _end_of_content(parsed) if position <= _end_of_content(parsed) else len(parsed.text.rstrip())


def _end_of_content(parsed: Parsed) -> int:
    """Where a new phrase goes by default: the end, but before trailing extra-network tags (<lora:...>)."""
    end = len(parsed.text.rstrip())
    for unit in reversed(parsed.units):
        if unit.start >= end or unit.kind in ("space", "comma", "newline"):
            continue
        if unit.kind == "atom" and parsed.unit_text(unit).startswith("<"):
            end = unit.start
            continue
        break
    return len(parsed.text[:end].rstrip(" \t,\n")) if end < len(parsed.text.rstrip()) else end


# ---- finding what a quote refers to -------------------------------------------------------------

_EDGE_PUNCT = re.compile(r"^[^\w<_{\[]+|[^\w>_}\]]+$")


def word_key(parsed: Parsed, unit: Unit) -> str:
    text = parsed.unit_text(unit)
    return text.lower() if unit.kind != "word" else _EDGE_PUNCT.sub("", text.lower())


def word_keys(text: str) -> str:
    return " ".join(keyed_words(parse(text))[1])


def keyed_words(parsed: Parsed) -> tuple[list[Unit], list[str]]:
    """The prompt's words that have a key, and those keys: what quotes are matched against."""
    words = [unit for unit in parsed.words() if word_key(parsed, unit)]
    return words, [word_key(parsed, unit) for unit in words]


def phrase_break(parsed: Parsed, words: list[Unit], index: int) -> bool:
    """Whether a comma or newline separates word index-1 from word index; either end of the prompt is one."""
    if index <= 0 or index >= len(words):
        return True
    return bool(re.search(r"[,\n]", parsed.text[words[index - 1].end : words[index].start]))


def find_span(parsed: Parsed, quote: str) -> tuple[int, int] | None:
    """The [start, end) of the prompt that quote names, widened to keep brackets balanced; None if absent.

    Tried in turn: the quote's words as they are; without a leading article (the prompt's own
    article is then taken along, so "the crane" names "a crane"); the most alike run of words.
    An exact match that is a whole phrase wins (`evening` names the tag, not the word in `evening sky`),
    then the first occurrence.
    """
    quoted = parse(quote.strip())
    _, wanted = keyed_words(quoted)
    if not wanted:
        return None
    words, keys = keyed_words(parsed)

    def whole_phrase(start: int, end: int) -> bool:
        return phrase_break(parsed, words, start) and phrase_break(parsed, words, end)

    match = _exact(keys, wanted, whole_phrase)
    core = wanted[1:] if wanted[0] in ARTICLES and len(wanted) > 1 else wanted
    if match is None:
        match = _exact(keys, core, whole_phrase) or _fuzzy(keys, core)
        if match is not None and core is not wanted and match[0] > 0 and keys[match[0] - 1] in ARTICLES:
            match = (match[0] - 1, match[1])
    if match is None:
        return None
    start, end = words[match[0]].start, words[match[1] - 1].end
    stripped = quote.strip()
    return _snap(parsed, start, end, stripped.startswith(("(", "[")), stripped.endswith((")", "]")))


def _exact(keys: list[str], wanted: list[str], preferred: Callable[[int, int], bool]) -> tuple[int, int] | None:
    size = len(wanted)
    found = [(start, start + size) for start in range(len(keys) - size + 1) if keys[start : start + size] == wanted]
    return next((match for match in found if preferred(*match)), found[0] if found else None)


def _fuzzy(keys: list[str], wanted: list[str]) -> tuple[int, int] | None:
    """The window of the prompt's words most like the quote, if alike enough."""
    target = " ".join(wanted)
    best, best_ratio = None, FUZZY_MIN
    for size in {max(1, len(wanted) - 1), len(wanted), len(wanted) + 1}:
        for start in range(len(keys) - size + 1):
            ratio = difflib.SequenceMatcher(None, " ".join(keys[start : start + size]), target).ratio()
            if ratio > best_ratio:
                best, best_ratio = (start, start + size), ratio
    return best


def _snap(parsed: Parsed, start: int, end: int, open_side: bool, close_side: bool) -> tuple[int, int]:
    """Widen a span so it never splits an atom or holds half of an emphasis group.

    A span that covers every word of a group takes the whole group when the quote wrote its
    brackets, or when it also runs past the group; a span of exactly a group's words keeps the
    brackets outside it, so `~ dramatic clouds -> soft clouds` keeps the weight.
    """
    changed = True
    while changed:
        changed = False
        for group in parsed.groups:
            inner_words = [u for u in parsed.words() if group.open.end <= u.start and u.end <= group.close.start]
            if not inner_words:
                continue
            first, last = inner_words[0].start, inner_words[-1].end
            covers_all = start <= first and last <= end
            wants_open = open_side and start == first and group.start < start
            wants_close = close_side and end == last and end < group.end
            crosses = (start < group.start < end < group.end) or (group.start < start < group.end < end)
            crosses |= covers_all and (start < group.open.end) != (end > group.close.start)
            if covers_all and (wants_open or wants_close or crosses):
                start, end = min(start, group.start), max(end, group.end)
                changed = True
            elif crosses:  # a part of the group and some text outside it: take the whole group
                start, end = min(start, group.start), max(end, group.end)
                changed = True
    return start, end


# ---- mending the seams ---------------------------------------------------------------------------
# Only the characters next to an edit are ever touched: the rest of the prompt is kept byte for byte,
# odd spacing and all.


def delete_span(parsed: Parsed, start: int, end: int) -> str:
    """Remove [start, end) and whatever only joined it to its neighbours: a comma, an "and", a preposition
    left with no object, a bracket pair."""
    start, end = _whole_groups(parsed, start, end)
    before, after = parsed.text[:start], parsed.text[end:]
    last_before = before.rstrip().rsplit(None, 1)[-1].lower() if before.strip() else ""
    first_after = after.lstrip().split(None, 1)[0].lower().rstrip(",") if after.strip() else ""
    ends_phrase = not after.strip() or after.lstrip()[:1] in (",", "\n", ")", "]") or first_after in PREPOSITIONS
    if last_before in ARTICLES and ends_phrase:  # "a cat, ..." minus "cat": the article goes with its noun
        before = before.rstrip()[: -len(last_before)]
        last_before = before.rstrip().rsplit(None, 1)[-1].lower() if before.strip() else ""
    starts_phrase = not before.strip() or before.rstrip()[-1:] in (",", "\n", "(", "[")
    if first_after in ("and", "or", "&") and (starts_phrase or last_before in CONNECTIVES):
        after = after.lstrip()[len(first_after) :]  # "with a hat and a scarf" minus "a hat"
    elif last_before in CONNECTIVES | PREPOSITIONS and (ends_phrase or first_after in CONNECTIVES):
        before = before.rstrip()[: -len(last_before)]  # "a cat with a hat" minus "a hat"; "a cat on a sofa" minus "a sofa"
    return join(before, after)


def _whole_groups(parsed: Parsed, start: int, end: int) -> tuple[int, int]:
    """Deleting every word of an emphasis group deletes its brackets too: `(:1.2)` is no prompt."""
    changed = True
    while changed:
        changed = False
        for group in parsed.groups:
            if start <= group.start and group.end <= end:
                continue
            inside = [u for u in parsed.units if group.open.end <= u.start and u.end <= group.close.start]
            words = [u for u in inside if u.kind in ("word", "atom", "keyword")]
            if words and start <= words[0].start and words[-1].end <= end:
                start, end, changed = min(start, group.start), max(end, group.end), True
    return start, end


def join(before: str, after: str) -> str:
    """Close the gap a deletion left between two pieces of prompt."""
    left, right = before.rstrip(" \t"), after.lstrip(" \t")
    if not left.strip():
        return right.lstrip(" \t,").lstrip() if not right.startswith("\n") else right.lstrip("\n")
    if not right.strip():
        return left.rstrip(" \t,\n")
    if right.startswith(","):
        if left.endswith(","):
            return left + right[1:]  # "a cat, [a dog], a bird": one comma, with the spacing that followed it
        if left.endswith(("\n", "(", "[")):
            return left + right[1:].lstrip(" \t")
        return left + right
    if right.startswith("\n"):
        return left.rstrip(" \t,") + right
    if left.endswith(("(", "[", "\n")) or right.startswith((")", "]", ",")):
        return left + right
    if left.endswith(","):
        return left + " " + right
    return left + " " + right


def _balanced(text: str) -> str:
    """New text from the model with unmatched brackets dropped, so it cannot unbalance the prompt."""
    text = text.strip().strip(",").strip()
    if is_balanced(text):
        return text
    return re.sub(r"(?<!\\)[()\[\]{}]", "", text).strip()
