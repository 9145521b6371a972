"""The first version of a built prompt, written the way people write them.

Four registers: a plain sentence, a short tag list, a long community prompt (subject, then
artists, lenses, render engines, quality tags), and booru tags. Any but the sentence may get
A1111 and dynamic-prompts syntax sprinkled through it: emphasis weights, <lora:...> tags,
wildcards, variants, prompt editing and BREAK. Edits never aim at the extra syntax, so a
faithful target keeps it byte for byte.
"""

from __future__ import annotations

from trainer.data.draw import Draw
from trainer.data.scene import Scene, join_and, strip_article

REGISTER_WEIGHTS = {"sentence": 15, "tags": 30, "community": 30, "booru": 25}
SYNTAX_SHARE = 0.45
"""Share of tag-list, community and booru prompts that carry A1111 syntax."""
EMPHASIS_FORMS = ("({}:1.2)", "({}:1.3)", "(({}))", "({})", "[{}]", "({}:0.8)", "({}:1.1)", "({}:1.4)")


def sentence(scene: Scene) -> str:
    """`an oil painting of a cat sleeping in a cozy room with a red umbrella and a lamp at night`."""
    text = scene.core()
    if scene.style:
        text = f"{scene.style} of {text}"
    if scene.objects:
        text += " with " + join_and([thing.text for thing in scene.objects])
    for mood in (scene.time, scene.weather):
        if mood:
            text += " " + mood.tag
    return text


def _shown(value: str | None) -> list[str]:
    return [strip_article(value)] if value else []


def tag_phrases(scene: Scene, draw: Draw) -> list[str]:
    """`a cat sleeping in a cozy room, a red umbrella, at night, oil painting, dramatic lighting, ...`."""
    phrases = [scene.core(), *(thing.text for thing in scene.objects), *_shown(scene.gesture)]
    phrases += moods(scene)
    phrases += _shown(scene.style) + _shown(scene.lighting) + _shown(scene.palette) + _shown(scene.camera)
    return scatter_cues(phrases + scene.quality, scene, draw)


def community_phrases(scene: Scene, draw: Draw) -> list[str]:
    """A long prompt as shared on prompt sites: 30 to 70 words."""
    opener = f"{strip_article(scene.style)} of {scene.core()}" if scene.style else scene.core()
    phrases = [opener, *(thing.text for thing in scene.objects), *_shown(scene.gesture)]
    phrases += moods(scene)
    phrases += _shown(scene.lighting) + _shown(scene.palette) + _shown(scene.camera)
    return scatter_cues(phrases + scene.credits + scene.quality, scene, draw)


def moods(scene: Scene) -> list[str]:
    """The time, weather and mood, each as its tag and cues: `at midday, bright midday sun, ..., cheerful`."""
    return [phrase for mood in (scene.time, scene.weather, scene.mood) if mood for phrase in mood.phrases]


CUE_MOVES = 0.4
"""Chance that a cue leaves its tag's side: pasted prompts say `bright midday sun` far from `at midday`."""


def scatter_cues(phrases: list[str], scene: Scene, draw: Draw) -> list[str]:
    """Move some cues later in the prompt, so a change must find every phrase of the old mood, not the next one."""
    cues = [cue for mood in (scene.time, scene.weather, scene.mood) if mood for cue in mood.cues]
    for cue in cues:
        at = phrases.index(cue) if cue in phrases else len(phrases)
        if at < len(phrases) - 1 and draw.chance(CUE_MOVES):
            phrases.pop(at)
            phrases.insert(draw.rng.randint(at + 1, len(phrases)), cue)  # past at least one other phrase
    return phrases


def community_extras(scene: Scene, draw: Draw) -> None:
    """Fill what only long prompts have: a medium, artists, lenses, render engines, a site, quality tags."""
    rng = draw.rng
    if scene.style is None or draw.chance(0.4):
        scene.style = draw.content("media", "medium")
    if scene.lighting is None:
        scene.lighting = draw.content("lighting", "all")
    credits = [draw.content("artists", "all") for _ in range(rng.choice((1, 1, 2)))]
    credits += [draw.content("media", "lens") for _ in range(rng.choice((0, 1, 2)))]
    credits += [draw.content("media", "render") for _ in range(rng.choice((0, 1, 2)))]
    credits += [draw.content("media", group) for group in ("site", "film") if draw.chance(0.4)]
    scene.credits = list(dict.fromkeys(credits))
    pool = list(dict.fromkeys(draw.vocab.pools("quality", "beautify").train + draw.vocab.pools("booru", "quality").train))
    scene.quality = rng.sample(pool, rng.choice((2, 3, 4)))


def sprinkle(phrases: list[str], weighted: dict[str, str], draw: Draw) -> str:
    """Join phrases into a prompt, adding A1111 / dynamic-prompts syntax to some.

    weighted learns which phrases got an emphasis and in what form, so later edits can quote them.
    """
    rng = draw.rng
    phrases = list(phrases)
    if not draw.chance(SYNTAX_SHARE):
        return ", ".join(phrases)
    for index in rng.sample(range(len(phrases)), min(len(phrases), rng.choice((1, 1, 2, 3)))):
        form = rng.choice(EMPHASIS_FORMS).format(phrases[index])
        weighted[phrases[index]] = form
        phrases[index] = form
    middle = max(1, len(phrases) // 2)
    if draw.chance(0.25):
        phrases.insert(rng.randint(1, middle), f"__{draw.content('syntax', 'wildcard')}__")
    if draw.chance(0.25):
        phrases.insert(rng.randint(1, len(phrases)), "{" + "|".join(draw.content("syntax", "variants")) + "}")
    if draw.chance(0.15):
        words = draw.content("syntax", "variants")
        phrases.insert(rng.randint(1, len(phrases)), _scheduled(words, draw))
    if draw.chance(0.1):
        phrases.append(f"embedding:{draw.content('syntax', 'embedding')}")
    if draw.chance(0.7):
        phrases += [f"<lora:{draw.content('syntax', 'lora')}:{rng.choice((0.4, 0.5, 0.6, 0.7, 0.8, 1))}>" for _ in range(rng.choice((1, 1, 2)))]
    if draw.chance(0.25) and len(phrases) > 3:
        cut = rng.randint(2, len(phrases) - 1)
        joiner = rng.choice((" BREAK ", "\nBREAK\n", ", BREAK, ", " BREAK\n"))
        return ", ".join(phrases[:cut]) + joiner + ", ".join(phrases[cut:])
    return ", ".join(phrases)


def _scheduled(words: list[str], draw: Draw) -> str:
    if len(words) >= 2 and draw.chance(0.6):
        return f"[{words[0]}:{words[1]}:{draw.rng.choice((0.3, 0.5, 0.6, 10, 15))}]"
    return "[" + "|".join(words) + "]"


def sentence_prompt(scene: Scene, draw: Draw) -> str:
    """A sentence, now and then with a LoRA tag after it, as people paste them."""
    text = sentence(scene)
    if draw.chance(0.15):
        text += draw.rng.choice((" ", ", ")) + f"<lora:{draw.content('syntax', 'lora')}:0.{draw.rng.randint(4, 9)}>"
    return text
