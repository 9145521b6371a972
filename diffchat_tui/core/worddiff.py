"""Word-level differences between two prompts, for showing what an edit changed."""

from __future__ import annotations

import difflib
from typing import Literal

Op = Literal["same", "added", "removed"]


def word_diff(before: str, after: str) -> list[tuple[Op, str]]:
    """Segments of text tagged same/added/removed; joining same+added gives `after` word for word."""
    old, new = before.split(), after.split()
    segments: list[tuple[Op, str]] = []
    # "sofa" and "sofa," are the same word: a comma moving is not an edit worth highlighting.
    key = lambda word: word.lower().strip(",.;:!")  # noqa: E731
    matcher = difflib.SequenceMatcher(a=[key(w) for w in old], b=[key(w) for w in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(("same", " ".join(new[j1:j2])))
            continue
        if i2 > i1:
            segments.append(("removed", " ".join(old[i1:i2])))
        if j2 > j1:
            segments.append(("added", " ".join(new[j1:j2])))
    return segments
