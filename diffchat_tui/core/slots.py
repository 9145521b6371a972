"""Exclusive slots: a picture has one time of day, one season, one medium, one framing, one camera angle,
one mood, one face, one kind of weather.

When an edit puts a slot's term into the prompt (`~ day -> sunset`, `+ pixel art`), the terms of that
slot it left behind now contradict it: `noon, ..., sunset`. A small model often forgets them, so the
code deletes them, as ordinary `- SPAN` operations the user sees in the script. It is careful:
- only a bare term sets a slot (`+ sunset`, `+ at golden hour`), never a longer phrase (`+ a photo frame`);
- only whole phrases go (`noon`, `(noon:1.2)`, a sentence's closing `at noon`), never a word inside
  one (`night market` stays);
- a term of the same family stays (`sunset` keeps `golden hour`), and so does one the edit itself wrote.

The vocabulary is the usual Stable Diffusion and booru one, written from general knowledge.

The same goes for a thing the edit deleted by its bare name: `- umbrella` also deletes `red umbrella`
and `holding umbrella`, the short phrases still about it (other_mentions).
"""

from __future__ import annotations

from diffchat_tui.core.edit_script import ARTICLES, CONNECTIVES, PREPOSITIONS, keyed_words, phrase_break, word_keys
from diffchat_tui.core.prompt_syntax import parse

SLOTS: dict[str, list[list[str]]] = {
    "time of day": [
        ["dawn", "sunrise", "daybreak", "early morning", "morning", "first light"],
        ["day", "daytime", "noon", "midday", "high noon", "afternoon", "midday sun"],
        ["golden hour", "sunset", "dusk", "twilight", "blue hour", "evening", "late afternoon", "sundown"],
        ["night", "nighttime", "night time", "midnight", "late at night", "at night", "starry sky", "starry night",
         "night sky"],
    ],
    "season": [["spring", "springtime"], ["summer", "summertime"], ["autumn", "fall"], ["winter", "wintertime"]],
    "medium": [
        ["photo", "photograph", "photography", "photorealistic", "photo-realistic", "photorealism", "raw photo",
         "dslr", "film photo", "35mm photo", "analog photo", "realistic", "hyperrealistic", "hyperrealism"],
        ["oil painting", "oil on canvas"],
        ["watercolor", "watercolour", "watercolor painting", "watercolour painting"],
        ["acrylic painting", "gouache", "gouache painting"],
        ["digital painting", "digital art"],
        ["anime", "anime style", "anime screencap", "anime coloring", "manga", "manga style"],
        ["pixel art", "8-bit", "16-bit", "pixelated"],
        ["3d render", "low poly", "lowpoly", "isometric 3d", "cgi", "blender render"],
        ["claymation", "clay animation", "stop motion", "plasticine"],
        ["pencil sketch", "charcoal sketch", "sketch", "pencil drawing", "charcoal drawing", "graphite drawing",
         "ink drawing", "line art", "lineart"],
        ["ukiyo-e", "woodblock print", "woodcut", "linocut"],
        ["stained glass"],
        ["comic", "comic book", "comic book style", "comic style"],
        ["cartoon", "cartoon style"],
        ["vector art", "flat illustration", "flat design"],
        ["traditional media"],
        ["pastel drawing", "crayon drawing", "colored pencil"],
        ["mosaic"],
        ["origami", "papercraft", "paper cutout"],
    ],
    "framing": [
        ["extreme close-up", "extreme closeup", "macro shot"],
        ["close-up", "closeup", "close up", "headshot", "face close-up", "portrait shot"],
        ["upper body", "bust shot", "medium shot", "waist up"],
        ["cowboy shot"],
        ["full body", "full-body", "full body shot", "full shot"],
        ["wide shot", "long shot", "extreme wide shot", "establishing shot", "wide view"],
    ],
    "camera angle": [
        ["from above", "high angle", "high-angle shot", "overhead shot", "top-down", "top-down view", "top view",
         "bird's eye view", "birds eye view", "bird's-eye view", "aerial view", "aerial shot", "drone shot"],
        ["from below", "low angle", "low-angle shot", "worm's eye view", "worms eye view"],
        ["eye level", "eye-level", "eye level shot", "straight-on"],
        ["from side", "from the side", "side view", "profile view"],
        ["from behind", "back view", "rear view"],
    ],
    "lens": [
        ["wide angle", "wide-angle", "wide angle lens", "wide-angle lens", "ultra wide angle", "14mm lens",
         "16mm lens", "24mm lens"],
        ["telephoto", "telephoto lens", "200mm lens", "300mm lens", "400mm lens"],
        ["macro lens", "macro photography", "100mm macro"],
        ["fisheye", "fisheye lens", "fish-eye lens"],
    ],
    "mood": [  # by feeling, not intensity: "serene", "nostalgic" or "dramatic" fit either side and set nothing
        ["cheerful", "happy", "joyful", "joyous", "playful", "upbeat", "lighthearted", "festive", "wholesome", "jolly",
         "uplifting", "hopeful", "exuberant", "triumphant", "heroic", "victorious"],
        ["sad", "melancholic", "melancholy", "somber", "sombre", "gloomy", "depressing", "depressed", "sorrowful",
         "mournful", "desolate", "heartbreaking", "forlorn", "tragic", "bleak", "lonely", "grim", "creepy", "eerie",
         "ominous", "sinister", "spooky", "unsettling", "disquieting", "menacing", "foreboding", "haunting", "scary",
         "terrifying", "horror", "nightmarish", "macabre", "tense", "suspenseful"],
    ],
    "expression": [
        ["smile", "smiling", "grin", "grinning", "laughing", "laugh", "big smile", "open-mouth smile"],
        ["crying", "tears", "sobbing", "teary eyes", "streaming tears"],
        ["angry", "frown", "frowning", "scowl", "scowling", "annoyed", "glaring", "furious"],
        ["expressionless", "blank stare", "emotionless", "neutral expression", "serious expression"],
        ["scared", "frightened", "afraid", "fearful"],
    ],
    "weather": [  # rain, snow and storm go together; a sunny sky goes with none of them
        ["sunny", "sunshine", "bright sunshine", "clear sky", "cloudless sky"],
        ["rain", "rainy", "raining", "heavy rain", "light rain", "drizzle", "downpour", "storm", "stormy",
         "thunderstorm", "snow", "snowing", "snowfall", "heavy snow", "blizzard", "overcast", "overcast sky", "cloudy",
         "sandstorm"],
    ],
    "girls": [["1girl"], ["2girls"], ["3girls"], ["4girls"], ["5girls"], ["6+girls", "multiple girls"]],
    "boys": [["1boy"], ["2boys"], ["3boys"], ["4boys"], ["5boys"], ["6+boys", "multiple boys"]],
}

SHARED: dict[str, dict[str, set[int]]] = {
    "time of day": {
        **dict.fromkeys(["daylight", "broad daylight", "bright daylight", "sunny day", "blue sky", "clear blue sky"], {0, 1}),
        **dict.fromkeys(["moonlight", "moonlit", "full moon"], {2, 3}),
    },
}
"""Terms that fit several families of their slot: a morning can be a sunny day, and dusk moonlit."""

_FAMILY: dict[str, tuple[str, frozenset[int]]] = {
    term: (slot, frozenset({index})) for slot, families in SLOTS.items() for index, terms in enumerate(families)
    for term in terms
} | {term: (slot, frozenset(fits)) for slot, terms in SHARED.items() for term, fits in terms.items()}
"""Each term as find_span keys a prompt's words (lower case, no edge punctuation), so the terms are written that way."""
_LONGEST = max(len(term.split()) for term in _FAMILY)
_NOT_NAMED = frozenset({"day"})
"""Too loose to set a slot from the instruction's words: "a stormy day" names the weather, not the hour."""
_LEAD_WORDS = ARTICLES | {"at", "in", "during", "as", "into", "like", "shot", "seen"}
_TRAIL_WORDS = frozenset(
    {"style", "lighting", "light", "aesthetic", "look", "vibes", "vibe", "atmosphere", "mood", "feel", "feeling", "expression", "weather"}
)


def slot_of(phrase: str) -> tuple[str, frozenset[int]] | None:
    """The (slot, family) a bare phrase sets: `at golden hour` and `pixel art style` do, `a photo frame` does not."""
    words = word_keys(phrase).split()
    while len(words) > 1 and words[0] in _LEAD_WORDS:
        words = words[1:]
    while len(words) > 1 and words[-1] in _TRAIL_WORDS and " ".join(words) not in _FAMILY:
        words = words[:-1]
    return _FAMILY.get(" ".join(words))


def contradicted(before: str, after: str, added: list[str], instruction: str = "") -> list[str]:
    """The phrases of after that an edit from before to after made wrong: terms of the slots the added
    phrases set, from other families, that were in before. Each as it is written, ready to quote for deletion.

    An added phrase sets a slot when it is a bare term, or holds a term the instruction names too
    (`~ film still -> ukiyo-e woodblock print` for "ukiyo-e style").
    """
    named = f" {word_keys(instruction)} "
    setting: dict[str, set[int]] = {}
    for text in added:
        for piece in text.replace("\n", ",").split(","):
            named_terms = [term for term in _terms_in(piece) if f" {term} " in named and term not in _NOT_NAMED]
            for slot, families in filter(None, [slot_of(piece)] + [_FAMILY[term] for term in named_terms]):
                setting.setdefault(slot, set()).update(families)
    if not setting:
        return []
    old = {term for term, _ in _phrase_terms(before)}
    return [
        quote for term, quote in _phrase_terms(after)
        if (slot := _FAMILY[term])[0] in setting and not slot[1] & setting[slot[0]] and term in old
    ]


def _terms_in(text: str) -> list[str]:
    """Every slot term that text holds as a run of words."""
    keys = word_keys(text).split()
    return [
        " ".join(keys[start : start + size]) for start in range(len(keys)) for size in range(1, _LONGEST + 1)
        if " ".join(keys[start : start + size]) in _FAMILY
    ]


def _phrase_terms(prompt: str) -> list[tuple[str, str]]:
    """Every slot term that stands as a whole phrase of prompt, or closes one after a preposition
    (`a castle at noon`), as (its word keys, its quote in the prompt)."""
    parsed = parse(prompt)
    words, keys = keyed_words(parsed)
    found, start = [], 0
    while start < len(keys):
        sizes = range(min(_LONGEST, len(keys) - start), 0, -1)  # the longest term wins: "early morning", not "morning"
        size = next((size for size in sizes if " ".join(keys[start : start + size]) in _FAMILY), 0)
        if not size:
            start += 1
            continue
        end = start + size
        while end < len(keys) and keys[end] in _TRAIL_WORDS and not phrase_break(parsed, words, end):
            end += 1  # `unsettling atmosphere`, `anime style`: the term and the word that names its slot
        lead = start - 1 if start and keys[start - 1] in ARTICLES else start
        after_preposition = bool(lead) and keys[lead - 1] in PREPOSITIONS  # `a castle at noon`
        opens = phrase_break(parsed, words, lead) or after_preposition or (bool(lead) and words[lead - 1].kind == "keyword")
        closes = phrase_break(parsed, words, end) or (end < len(words) and words[end].kind == "keyword")
        closes |= after_preposition and end < len(keys) and keys[end] in PREPOSITIONS  # `at noon in the rain`
        if opens and closes:
            found.append((" ".join(keys[start : start + size]), parsed.text[words[lead].start : words[end - 1].end]))
        start = end
    return found


MENTION_MODIFIERS = 2
"""A phrase that names a deleted thing with at most this many words before it (`red umbrella`, `holding oil-paper
umbrella`) is about that thing alone; a longer one (`a girl under a red umbrella`) is about something else too."""


def other_mentions(after: str, deleted: list[str]) -> list[str]:
    """The phrases of after that still name a thing the edit deleted by its bare name (`- umbrella`), each as it
    is written: a tag prompt says `holding umbrella, red umbrella`, and "remove the umbrella" means all of them.

    Only a short phrase that ends in the name, or its plural, and starts at a comma or line counts; a name with
    words of its own (`- red umbrella`) deletes only what it quotes.
    """
    names = set()
    for text in deleted:
        keys = word_keys(text).split()
        if len(keys) == 2 and keys[0] in ARTICLES:
            keys = keys[1:]
        if len(keys) == 1 and keys[0].isalpha():
            names |= {keys[0], keys[0] + "s", keys[0] + "es"}
    if not names:
        return []
    parsed = parse(after)
    words, keys = keyed_words(parsed)
    found, start = [], 0
    for end in range(1, len(keys) + 1):
        if not phrase_break(parsed, words, end):
            continue
        phrase = keys[start:end]
        lead = phrase[1:] if phrase[:1] and phrase[0] in ARTICLES else phrase
        lead = lead[1:] if lead[:1] and lead[0] in ("holding", "with", "wearing") else lead
        modifiers = lead[:-1]
        if (
            lead and lead[-1] in names and len(modifiers) <= MENTION_MODIFIERS
            and not set(modifiers) & (ARTICLES | CONNECTIVES | PREPOSITIONS)
            and all(words[i].kind == "word" for i in range(start, end))
            and not any(group.start < words[end - 1].end and words[start].start < group.end for group in parsed.groups)
        ):
            found.append(parsed.text[words[start].start : words[end - 1].end])
        start = end
    return found
