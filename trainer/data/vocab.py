"""The builder's vocabularies and instruction phrasings, kept as JSON in assets/vocab/.

Each file maps a group name to `{"train": [...], "heldout": [...]}`. Held-out entries are
never used by records marked heldout=false, so results on them measure generalization.
`phrasings.json` has one more level: category, then sub-kind, then the two pools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput

VOCAB_FILES = (
    "subjects", "actions", "settings", "objects", "colours", "styles", "lighting", "atmosphere",
    "palettes", "camera", "quality", "artists", "media", "booru", "syntax", "extras",
)  # fmt: skip


def default_vocab_dir() -> Path:
    return paths.package_assets_dir() / "vocab"


@dataclass(frozen=True)
class Pools:
    """One group's entries: the ones any record may use, and the ones kept for held-out records."""

    train: tuple[Any, ...]
    heldout: tuple[Any, ...]

    def pick(self, heldout: bool | None) -> tuple[Any, ...]:
        """heldout=True: the held-out pool; False: the train pool; None: both."""
        if heldout is None:
            return self.train + self.heldout
        return self.heldout if heldout else self.train


class Vocab:
    """Every vocabulary and phrasing pool of one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.words: dict[str, dict[str, Pools]] = {name: _groups(self._read(name), name) for name in VOCAB_FILES}
        phrasings = self._read("phrasings")
        self.phrasings: dict[str, dict[str, Pools]] = {
            category: _groups(kinds, f"phrasings.{category}") for category, kinds in phrasings.items()
        }

    def _read(self, name: str) -> dict[str, Any]:
        path = self.directory / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BadInput(f"cannot read vocabulary {path}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"vocabulary {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadInput(f"vocabulary {path} must be a JSON object of groups")
        return data

    def pools(self, name: str, group: str) -> Pools:
        return self.words[name][group]

    def phrasing_pools(self, category: str, kind: str) -> Pools:
        return self.phrasings[category][kind]

    def heldout_words(self) -> list[str]:
        """Every held-out vocabulary entry as it shows in a prompt, minus article and colour."""
        from trainer.data.scene import strip_article

        found = []
        for groups in self.words.values():
            for pools in groups.values():
                for entry in pools.heldout:
                    if isinstance(entry, dict):  # a mood ({tag, say, key}) or a negative ask ({say, tags})
                        found.append(entry.get("tag") or entry["tags"].split(",")[0].strip())
                    elif isinstance(entry, list):  # a variants group: the whole {a|b} is the vocabulary
                        found.append("{" + "|".join(entry) + "}")
                    else:
                        found.append(strip_article(entry.replace("{colour} ", "")))
        return found


def _groups(data: Any, where: str) -> dict[str, Pools]:
    if not isinstance(data, dict) or not data:
        raise BadInput(f"vocabulary {where} must map group names to pools")
    groups = {}
    for group, pools in data.items():
        if not isinstance(pools, dict) or not isinstance(pools.get("train"), list) or not pools["train"]:
            raise BadInput(f'vocabulary {where}.{group} needs a non-empty "train" list')
        heldout = pools.get("heldout", [])
        if not isinstance(heldout, list):
            raise BadInput(f'vocabulary {where}.{group}: "heldout" must be a list')
        overlap = {json.dumps(entry, sort_keys=True) for entry in pools["train"]} & {
            json.dumps(entry, sort_keys=True) for entry in heldout
        }
        if overlap:
            raise BadInput(f"vocabulary {where}.{group}: in both train and heldout: {sorted(overlap)[0]}")
        groups[group] = Pools(tuple(pools["train"]), tuple(heldout))
    return groups


@cache
def load_vocab(directory: Path | None = None) -> Vocab:
    """The vocabularies of directory (assets/vocab by default), read once per process."""
    return Vocab(directory or default_vocab_dir())
