"""The syntax people write in Stable Diffusion prompts, parsed into units an edit may not cut.

A1111's prompt syntax (also read by ComfyUI, Forge and most front-ends), plus the
dynamic-prompts extension most of its users have:

- emphasis `(x)` x1.1, `((x))` x1.21, `[x]` /1.1, `(x:1.3)` an explicit weight; nestable;
  `\\(` and `\\)` are literal brackets;
- prompt editing `[from:to:when]`, `[add:when]`, `[remove::when]` (`when` < 1 is a fraction of
  the steps, an integer a step number) and alternation `[a|b|c]`, which switches every step;
- `BREAK` starts a new 75-token chunk; `AND` joins prompts (composable diffusion);
- extra networks `<lora:name:0.8>`, `<lyco:...>`, `<hypernet:name:0.5>`; textual inversions
  as `embedding:name`;
- dynamic prompts: variants `{a|b|c}`, `{2$$a|b|c}`, and wildcards `__name__`, `__folder/name__`.

The parser is lark's Earley parser over a grammar of our own (A1111's own prompt parser is a
lark grammar too, so ambiguous text such as a colon in plain words resolves the same way:
structure where it is well formed, plain text where it is not). Emphasis groups are containers
whose words an edit may change; everything else above is an atom that an edit keeps whole or
removes whole. A prompt that does not parse (an unclosed bracket, say) is read as plain words,
so nothing ever fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

UnitKind = Literal["word", "space", "newline", "comma", "punct", "atom", "open", "close", "keyword"]

GRAMMAR = r"""
start: _item*

_item: paren | square | variants | _token
paren: LPAR _item* RPAR
square: LSQB _item* RSQB
variants: LBRACE _item* RBRACE
_token: NETWORK | WILDCARD | EMBEDDING | KEYWORD | ESCAPED | WEIGHT | NUMBER | WORD | WS | NEWLINE | COMMA | COLON | PIPE | OTHER

LPAR: "("
RPAR: ")"
LSQB: "["
RSQB: "]"
LBRACE: "{"
RBRACE: "}"
PIPE: "|"
COMMA: ","
WEIGHT.3: /:[ \t]*-?(\d+(\.\d*)?|\.\d+)[ \t]*(?=\))/
COLON: ":"
NETWORK.3: /<[\w\-]+\s*:[^<>\n]*>/i
WILDCARD.3: /__[\w\-\/.*]+?__/
EMBEDDING.3: /embedding:[\w\-.]+/
KEYWORD.4: /(BREAK|AND)(?![\w\-])/
ESCAPED.3: /\\[()\[\]{}<>:|\\]/
NUMBER.2: /-?(\d+(\.\d*)?|\.\d+)(?![\w.])/
WORD: /[^\s()\[\]{}<>:|,\\]+/
WS: /[ \t]+/
NEWLINE: /\r?\n/
OTHER: /[<>\\]/
"""

_ATOM_TOKENS = {"NETWORK", "WILDCARD", "EMBEDDING", "ESCAPED"}
_PLAIN = {"WORD": "word", "NUMBER": "word", "WS": "space", "NEWLINE": "newline", "COMMA": "comma"}


@dataclass(frozen=True)
class Unit:
    """One piece of a prompt: a [start, end) slice of its text and what kind of piece it is."""

    kind: UnitKind
    start: int
    end: int
    group: int | None = None
    """For `open`/`close`: which emphasis group (ids count up in order of the opening bracket)."""


@dataclass(frozen=True)
class Group:
    """An emphasis group: its opening and closing units (the close of `(x:1.2)` is `:1.2)`)."""

    id: int
    kind: Literal["emphasis", "weighted", "deemphasis"]
    open: Unit
    close: Unit

    @property
    def start(self) -> int:
        return self.open.start

    @property
    def end(self) -> int:
        return self.close.end


@dataclass(frozen=True)
class Parsed:
    """A prompt as units that tile its text exactly, and its emphasis groups."""

    text: str
    units: tuple[Unit, ...]
    groups: tuple[Group, ...]
    structured: bool
    """False when the text did not parse and was read as plain words."""

    def unit_text(self, unit: Unit) -> str:
        return self.text[unit.start : unit.end]

    def words(self) -> list[Unit]:
        """The units an edit quotes: words, atoms and keywords, in order."""
        return [unit for unit in self.units if unit.kind in ("word", "atom", "keyword")]

    def syntax_elements(self) -> list[str]:
        """Every piece of syntax as it is written: atoms, keywords and whole emphasis groups, in order."""
        spans = [(unit.start, unit.end) for unit in self.units if unit.kind in ("atom", "keyword")]
        spans += [(group.start, group.end) for group in self.groups]
        return [self.text[start:end] for start, end in sorted(spans)]

    def cuts(self, start: int, end: int) -> bool:
        """Whether [start, end) splits an atom or leaves an emphasis group half inside it."""
        for unit in self.units:
            if unit.kind in ("atom", "keyword") and unit.start < end and start < unit.end:
                if not (start <= unit.start and unit.end <= end):
                    return True
        for group in self.groups:
            opens_inside = start <= group.open.start < end
            closes_inside = start < group.close.end <= end
            if opens_inside != closes_inside:
                return True
        return False

    def enclosing(self, start: int, end: int) -> list[Group]:
        """The groups that hold [start, end) inside their brackets, innermost last."""
        return [g for g in self.groups if g.open.end <= start and end <= g.close.start]


@cache
def _parser():
    from lark import Lark

    # LALR with lark's contextual lexer: a few milliseconds for a long prompt. Which bracket form
    # a `[...]` or `(...)` is gets decided from its children in _classify, so the grammar stays unambiguous.
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=True)


_SYNTAX_HINT = re.compile(r"[()\[\]{}<>\\|]|__|\bBREAK\b|\bAND\b|embedding:")


def parse(text: str) -> Parsed:
    """Parse a prompt into units; never raises."""
    if not _SYNTAX_HINT.search(text):  # plain words read the same either way; skip loading the parser
        return Parsed(text, _plain_parse(text).units, (), True)
    from lark.exceptions import LarkError

    try:
        tree = _parser().parse(text)
    except (LarkError, RecursionError):
        return _plain_parse(text)
    units: list[Unit] = []
    groups: list[Group] = []
    _walk(tree.children, units, groups)
    units.sort(key=lambda unit: unit.start)
    if sum(unit.end - unit.start for unit in units) != len(text):  # never lose text to a grammar gap
        return _plain_parse(text)
    return Parsed(text, tuple(units), tuple(groups), True)


def _walk(children, units: list[Unit], groups: list[Group]) -> None:
    from lark import Token

    for child in children:
        if isinstance(child, Token):
            units.append(_token_unit(child))
            continue
        kind = _classify(child)
        if kind == "atom":
            units.append(Unit("atom", child.meta.start_pos, child.meta.end_pos))
            continue
        inner = child.children[1:-1]
        close_start = child.children[-1].start_pos
        if kind == "weighted":  # the weight belongs to the closing bracket: `:1.2)`
            close_start = inner[-1].start_pos
            inner = inner[:-1]
        group_id = len(groups)
        opening = Unit("open", child.meta.start_pos, child.children[0].end_pos, group_id)
        closing = Unit("close", close_start, child.meta.end_pos, group_id)
        groups.append(Group(group_id, kind, opening, closing))
        units += [opening, closing]
        _walk(inner, units, groups)


def _classify(tree) -> str:
    """`atom` for variants, prompt editing and alternation; else the kind of emphasis group."""
    from lark import Token

    if tree.data == "variants":
        return "atom"
    inner = [c for c in tree.children[1:-1] if not (isinstance(c, Token) and c.type == "WS")]
    if tree.data == "paren":
        return "weighted" if inner and isinstance(inner[-1], Token) and inner[-1].type == "WEIGHT" else "emphasis"
    tokens = [c.type for c in inner if isinstance(c, Token)]
    if "PIPE" in tokens:
        return "atom"  # [a|b|c] switches every step
    if len(inner) >= 2 and isinstance(inner[-1], Token) and inner[-1].type == "NUMBER":
        before = inner[-2]
        if isinstance(before, Token) and before.type == "COLON":
            return "atom"  # [from:to:when], [add:when], [remove::when]
    return "deemphasis"


def _token_unit(token) -> Unit:
    kind = token.type
    if kind in _ATOM_TOKENS:
        return Unit("atom", token.start_pos, token.end_pos)
    if kind == "KEYWORD":
        return Unit("keyword", token.start_pos, token.end_pos)
    return Unit(_PLAIN.get(kind, "punct"), token.start_pos, token.end_pos)


_PLAIN_TOKEN = re.compile(r"(?P<newline>\r?\n)|(?P<space>[ \t]+)|(?P<comma>,)|(?P<word>[^\s,()\[\]{}<>|:\\]+)|(?P<punct>.)", re.S)


def _plain_parse(text: str) -> Parsed:
    units = tuple(Unit(match.lastgroup, match.start(), match.end()) for match in _PLAIN_TOKEN.finditer(text))  # type: ignore[arg-type]
    return Parsed(text, units, (), False)


def is_balanced(text: str) -> bool:
    """Whether every bracket of the prompt's syntax is closed (escaped brackets are text)."""
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack.pop() != pairs[char]:
                return False
    return not stack
