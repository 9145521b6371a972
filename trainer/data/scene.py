"""A prompt's content as slots (subject, setting, objects, style, ...), rendered as raw or beautified text.

Edits change slots, never text, so a target keeps exactly what the edit did not touch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ARTICLES = ("a ", "an ", "the ", "some ")
PREPOSITIONS = {"in", "on", "at", "by", "under", "inside", "near", "beside", "along", "atop", "across"}


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


@dataclass(frozen=True)
class Thing:
    """A subject or object: a vocabulary template, with a colour when the template has a `{colour}` slot."""

    template: str
    colour: str | None = None

    @property
    def text(self) -> str:
        if self.colour is None:
            return self.template
        return with_article(self.template.replace("{colour}", self.colour))

    @property
    def bare(self) -> str:
        return strip_article(self.text)

    @property
    def head(self) -> str:
        """The noun that names it: what must vanish when it is removed or replaced."""
        return self.bare.split()[-1]

    @property
    def colourable(self) -> bool:
        return "{colour}" in self.template

    @property
    def noun(self) -> str:
        """What a colour applies to: `umbrella` in `a {colour} umbrella`."""
        return self.template.split("{colour}", 1)[-1].strip()


@dataclass(frozen=True)
class Mood:
    """A time of day/season or a weather: its prompt tag, how people say it, and the word that checks it."""

    tag: str
    say: str
    key: str


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
    objects: list[Thing] = field(default_factory=list)
    time: Mood | None = None
    weather: Mood | None = None
    style: str | None = None
    lighting: str | None = None
    palette: str | None = None
    camera: str | None = None
    quality: list[str] = field(default_factory=list)
    """Quality words the user wrote in the raw prompt."""
    extra: list[str] = field(default_factory=list)
    """Detail words added by a beautify edit."""

    def copy(self) -> Scene:
        """A copy an edit may change; things and moods are immutable, so only the lists are new."""
        return replace(self, objects=list(self.objects), quality=list(self.quality), extra=list(self.extra))

    def heads(self) -> set[str]:
        """Nouns of the subject and objects, so a new thing never repeats one."""
        return {self.subject.head, *(thing.head for thing in self.objects)}

    def keys(self) -> list[str]:
        """Short phrases that identify the content, for preservation checks."""
        keys = [self.subject.head]
        keys += [setting_place(self.setting).split()[-1]] if self.setting else []
        keys += [thing.head for thing in self.objects]
        keys += [mood.key for mood in (self.time, self.weather) if mood]
        keys += [strip_article(value) for value in (self.style, self.lighting, self.palette, self.camera) if value]
        return keys

    def _core(self) -> str:
        words = [self.subject.text, self.action, self.setting]
        return " ".join(word for word in words if word)

    def sentence(self) -> str:
        """A casual prompt: `an oil painting of a cat sleeping in a cozy room with a red umbrella at night`."""
        text = self._core()
        if self.style:
            text = f"{self.style} of {text}"
        if self.objects:
            text += " with " + join_and([thing.text for thing in self.objects])
        for mood in (self.time, self.weather):
            if mood:
                text += " " + mood.tag
        return text

    def tags(self, quality: list[str] = ()) -> str:
        """A comma-separated prompt, the way Stable Diffusion users write them."""
        parts = [self._core(), *(thing.text for thing in self.objects)]
        parts += [mood.tag for mood in (self.time, self.weather) if mood]
        parts += [strip_article(value) for value in (self.style, self.lighting, self.palette, self.camera) if value]
        seen: set[str] = set()
        for word in [*self.quality, *self.extra, *quality]:
            if word not in seen:
                seen.add(word)
                parts.append(word)
        return ", ".join(parts)
