"""Seeds: one range for every engine, and what a seed from elsewhere becomes.

llama.cpp samples with a uint32 seed and torch's generator overflows from 2^63, so a seed is 0..2^32-1,
as in A1111. -1 means "pick one" (A1111's convention) and is resolved to a concrete seed before anything
uses or writes it, so a picture's metadata always says how to make it again.
"""

from __future__ import annotations

import random

MAX_SEED = 2**32 - 1
RANDOM_SEED = -1


def concrete_seed(seed: int) -> int:
    """The seed itself, or a fresh random one for -1."""
    return random.randrange(MAX_SEED + 1) if seed == RANDOM_SEED else seed


def seed_from_metadata(value: int, what: str = "the picture's seed") -> tuple[int, str | None]:
    """A seed another tool wrote (some write 64-bit seeds): kept when in range, else reduced modulo 2^32,
    with a warning that says so. -1 (A1111's "random") stays -1, to be resolved when used."""
    if value == RANDOM_SEED or 0 <= value <= MAX_SEED:
        return value, None
    reduced = value % (MAX_SEED + 1)
    return reduced, f"{what} {value} is outside 0..{MAX_SEED}; using {reduced} (it modulo 2^32)"


def next_render_seed(typed: int, locked: bool) -> tuple[int, str | None]:
    """The TUI's seed for the next render: a fresh one when the seed is not locked (or is -1), else the
    typed seed, reduced into range with a warning when it is outside."""
    if not locked or typed == RANDOM_SEED:
        return concrete_seed(RANDOM_SEED), None
    return seed_from_metadata(typed, "seed")
