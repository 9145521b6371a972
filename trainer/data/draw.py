"""The random choices of one record, and what an edit hands back: its instruction, script and checks."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from diffchat_tui.core.edit_script import Op
from trainer.data.scene import Thing
from trainer.data.vocab import Vocab

Register = Literal["sentence", "tags", "community", "booru"]
"""How the prompt is written: a plain sentence, a short tag list, a long community prompt, booru tags."""


@dataclass
class Draw:
    """The random choices of one record: its generator, the vocabularies, and whether it is held out.

    A held-out record takes its edit's new value and phrasing from the held-out pools; a
    training record never touches them.
    """

    rng: random.Random
    vocab: Vocab
    heldout: bool
    register: Register = "tags"
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

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    @property
    def tagged(self) -> bool:
        """Tag-list registers drop the article of styles, cameras and palettes, as people write them."""
        return self.register != "sentence"


@dataclass
class Edit:
    """What one instruction did: its text, the script that does it, its checks, and the phrases it names."""

    instruction: str
    ops: list[Op] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    mentions: list[tuple[str, ...]] = field(default_factory=list)
    """Phrases the instruction names (any form of each): a teacher's paraphrase must keep them all."""
    exact: list[str] = field(default_factory=list)
    """Text the target must hold byte for byte (a new emphasis weight)."""
    exact_absent: list[str] = field(default_factory=list)
    """Text the target must no longer hold byte for byte (the old weight)."""
    negative_include: list[str] = field(default_factory=list)
    """Tags the negative prompt must now hold."""
    negative_exclude: list[str] = field(default_factory=list)
    """Tags the negative prompt must no longer hold."""
