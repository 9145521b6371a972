"""What a built prompt is about, slot by slot (subject, setting, objects, style, ...).

The builder keeps a Scene next to the prompt text so it knows what there is to edit; every
edit names the slot's text as it stands in the prompt, and the prompt itself only ever
changes through an edit script (registers.py renders the first version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

ARTICLES = ("a ", "an ", "the ", "some ")
PREPOSITIONS = {"in", "on", "at", "by", "under", "inside", "near", "beside", "along", "atop", "across"}
_IRREGULAR = {"man": "men", "woman": "women", "child": "children", "mouse": "mice", "goose": "geese", "person": "people",
              "fish": "fish", "sheep": "sheep", "deer": "deer", "wolf": "wolves", "leaf": "leaves", "knife": "knives"}  # fmt: skip


def strip_article(text: str) -> str:
    for article in ARTICLES:
        if text.lower().startswith(article):
            return text[len(article) :]
    return text


def with_article(text: str) -> str:
    """`a`/`an` chosen by the next word's first letter (the vocabularies avoid the exceptions)."""
    bare = strip_article(text)
    return ("an " if bare[:1].lower() in "aeiou" else "a ") + bare


def join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(noun: str) -> str:
    """English plural of a noun's last word: umbrella -> umbrellas, bench -> benches, butterfly -> butterflies."""
    head, _, last = noun.rpartition(" ")
    lower = last.lower()
    if lower in _IRREGULAR:
        word = _IRREGULAR[lower]
    elif lower.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif lower.endswith("y") and lower[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


@dataclass(frozen=True)
class Thing:
    """A subject or object: a vocabulary template, with a colour when the template has a `{colour}` slot.

    size, count and position are what later edits made of it: `a huge red umbrella`,
    `three red umbrellas`, `a red umbrella in the background`.
    """

    template: str
    colour: str | None = None
    size: str | None = None
    count: str | None = None
    position: str | None = None

    @property
    def base(self) -> str:
        if self.colour is None:
            return self.template
        return with_article(self.template.replace("{colour}", self.colour))

    @property
    def text(self) -> str:
        if self.count:
            text = f"{self.count} {plural(strip_article(self.base))}"
        elif self.size:
            text = with_article(f"{self.size} {strip_article(self.base)}")
        else:
            text = self.base
        return f"{text} {self.position}" if self.position else text

    @property
    def bare(self) -> str:
        return strip_article(self.text)

    @property
    def head(self) -> str:
        """The noun that names it: what must vanish when it is removed or replaced."""
        noun = strip_article(self.base).split()[-1]
        return plural(noun) if self.count else noun

    @property
    def colourable(self) -> bool:
        return "{colour}" in self.template

    @property
    def countable(self) -> bool:
        """One of something (`a lamp`), not a mass or a group (`storm clouds`, `a flock of birds`)."""
        return self.template.startswith(("a ", "an ")) and " of " not in self.template

    @property
    def noun(self) -> str:
        """What a colour applies to: `umbrella` in `a {colour} umbrella`."""
        return self.template.split("{colour}", 1)[-1].strip() if self.colourable else strip_article(self.template)

    def changed(self, **fields) -> Thing:
        return replace(self, **fields)


@dataclass(frozen=True)
class Mood:
    """A time of day, a weather or a feeling: its prompt tag, how people say it, and the word that checks it."""

    tag: str
    say: str
    key: str
    cues: tuple[str, ...] = ()
    """Other phrases the prompt says it with: `bright midday sun, harsh shadows` beside (or instead of) `at midday`."""
    tagged: bool = True
    """False when only the cues say it, as in many pasted prompts."""

    @classmethod
    def of(cls, entry: dict, cues: Sequence[str] = (), tagged: bool = True) -> Mood:
        """A vocabulary entry as a prompt states it (the entry's `cues` list what it may be said with)."""
        return cls(entry["tag"], entry["say"], entry["key"], tuple(cues), tagged)

    @property
    def phrases(self) -> list[str]:
        """What the prompt holds of it, in order."""
        return ([self.tag] if self.tagged else []) + list(self.cues)


def setting_place(setting: str) -> str:
    """`a wooden pier` from `on a wooden pier`."""
    first, _, rest = setting.partition(" ")
    return rest if first in PREPOSITIONS and rest else setting


def setting_key(setting: str) -> str:
    return strip_article(setting_place(setting))


@dataclass
class Scene:
    """Everything a prompt says, slot by slot."""

    subject: Thing
    kind: str
    """person, animal or thing: replacements keep the kind so the action still fits."""
    action: str | None = None
    setting: str | None = None
    outdoor: bool = True
    gesture: str | None = None
    """A person's arms or hands as a phrase of its own (`arms folded`), which a new pose replaces too."""
    objects: list[Thing] = field(default_factory=list)
    time: Mood | None = None
    weather: Mood | None = None
    mood: Mood | None = None
    style: str | None = None
    lighting: str | None = None
    palette: str | None = None
    camera: str | None = None
    quality: list[str] = field(default_factory=list)
    """Quality words the prompt has."""
    credits: list[str] = field(default_factory=list)
    """Long prompts only: artists, lenses, render engines, sites. Edits never touch them."""
    removed: list[Thing] = field(default_factory=list)
    """Things an earlier turn took out, which a later turn may ask to put back."""
    weighted: dict[str, str] = field(default_factory=dict)
    """Phrases the prompt wraps in emphasis, and how: `dramatic lighting` -> `(dramatic lighting:1.2)`."""
    negative: list[str] = field(default_factory=list)
    """The negative prompt's tags."""
    text: str = ""
    """The prompt as it stands, which some edits must look at ("no text" is a removal only if there is text)."""

    def copy(self) -> Scene:
        """A copy an edit may change; things and moods are immutable, so only the containers are new."""
        lists = {name: list(getattr(self, name)) for name in ("objects", "quality", "credits", "removed", "negative")}
        return replace(self, **lists, weighted=dict(self.weighted))

    def heads(self) -> set[str]:
        """Nouns of the subject and objects, so a new thing never repeats one."""
        return {self.subject.head, *(thing.head for thing in self.objects)}

    def core(self) -> str:
        """`a tabby cat sleeping in a cozy room`: subject, action and setting, the way every register opens."""
        return " ".join(word for word in (self.subject.text, self.action, self.setting) if word)

    def keys(self) -> list[str]:
        """Short phrases that identify the content, for preservation checks."""
        keys = [self.subject.head]
        keys += [setting_place(self.setting).split()[-1]] if self.setting else []
        keys += [thing.head for thing in self.objects]
        keys += [mood.key if mood.tagged else mood.cues[0] for mood in (self.time, self.weather, self.mood) if mood]
        keys += [strip_article(value) for value in (self.style, self.lighting, self.palette, self.camera) if value]
        return keys
