"""Exclusive slots: an edit that sets the time of day, the medium, the framing... drops what contradicts it."""

import pytest

from diffchat_tui.core.edit_script import word_keys
from diffchat_tui.core.prompting import TRAINED_FORMAT, read_answer
from diffchat_tui.core.slots import SHARED, SLOTS, contradicted, slot_of


def edited(prompt: str, script: str, instruction: str = "") -> tuple[str, str]:
    answer = read_answer(script, prompt, TRAINED_FORMAT, instruction, beautify=False)
    assert answer.clean, answer.problems
    return answer.target, answer.script


def test_a_new_time_of_day_drops_the_old_one_and_the_script_says_so():
    target, script = edited("a lighthouse on a cliff, noon, oil painting", "+ sunset")
    assert target == "a lighthouse on a cliff, oil painting, sunset"
    assert script == "+ sunset\n- noon"


def test_a_weighted_term_goes_with_its_brackets_and_untouched_syntax_stays():
    target, _ = edited("1girl, (noon:1.2), <lora:detail:0.5>, [a:b:0.5]", "+ at night")
    assert target == "1girl, <lora:detail:0.5>, [a:b:0.5], at night"


def test_a_sentence_keeps_its_other_words_when_its_closing_time_goes():
    assert edited("a castle at noon in the rain, pixel art", "+ at night")[0] == "a castle in the rain, pixel art, at night"
    assert edited("a castle in the evening, pixel art", "+ at dawn")[0] == "a castle, pixel art, at dawn"


@pytest.mark.parametrize(
    ("prompt", "script", "target"),
    [
        ("a cat, photo, dslr, 85mm lens, noon", "~ photo -> pixel art", "a cat, pixel art, 85mm lens, noon"),
        ("1girl, full body, from above", "+ close-up", "1girl, from above, close-up"),
        ("a street, eye level shot, wide angle lens", "+ birds eye view", "a street, wide angle lens, birds eye view"),
        ("a meadow, summer, dusk", "~ meadow -> snowy meadow\n+ winter", "a snowy meadow, dusk, winter"),
        ("2girls, sitting, park", "+ 3girls", "sitting, park, 3girls"),
    ],
)
def test_each_slot_drops_only_its_own_contradictions(prompt, script, target):
    assert edited(prompt, script)[0] == target


def test_a_term_of_the_same_family_stays():
    assert edited("a harbour, golden hour, evening", "+ sunset")[0] == "a harbour, golden hour, evening, sunset"


def test_a_daylight_marker_fits_morning_but_not_sunset():
    assert edited("a farm, on a sunny day, blue sky", "+ in the morning")[0] == "a farm, on a sunny day, blue sky, in the morning"
    assert edited("a farm, day, blue sky", "~ day -> sunset")[0] == "a farm, sunset"


def test_a_longer_added_phrase_sets_no_slot():
    prompt = "a living room, oil painting, noon"
    assert edited(prompt, "+ a photo frame on the wall")[0] == prompt + ", a photo frame on the wall"
    assert edited(prompt, "+ a poster of a sunset")[0] == prompt + ", a poster of a sunset"


def test_a_word_inside_a_phrase_is_not_a_term():
    assert edited("a night market, lanterns, photo", "+ at noon")[0] == "a night market, lanterns, photo, at noon"


def test_a_term_the_instruction_names_sets_the_slot_from_inside_a_longer_phrase():
    prompt = "a samurai, 35mm film still, photo"
    script = "~ 35mm film still -> ukiyo-e woodblock print"
    assert edited(prompt, script, "ukiyo-e woodblock print style")[0] == "a samurai, ukiyo-e woodblock print"
    assert edited(prompt, script, "make it older")[0] == "a samurai, ukiyo-e woodblock print, photo"


def test_a_stormy_day_names_the_weather_not_the_hour():
    prompt = "a water tower, at sunrise, creepy"
    assert edited(prompt, "+ on a stormy day", "show it on a stormy day")[0] == prompt + ", on a stormy day"


def test_the_negative_prompt_is_no_trigger_and_is_never_touched():
    answer = read_answer("!+ night", "a cat, noon", TRAINED_FORMAT, negative="sunset, blurry")
    assert (answer.target, answer.negative) == ("a cat, noon", "sunset, blurry, night")


def test_a_break_line_bounds_a_term_like_a_comma():
    assert edited("a castle at dusk BREAK\nwinter, snow", "+ summer")[0] == "a castle at dusk BREAK\nsnow, summer"


def test_contradicted_names_nothing_when_no_slot_is_set():
    assert contradicted("noon, a cat", "noon, a cat, a hat", ["a hat"]) == []
    assert slot_of("at golden hour") == slot_of("sunset") and slot_of("pixel art style") == slot_of("pixel art")
    assert slot_of("a photo frame") is None


def test_every_term_is_written_as_a_prompt_word_key_and_belongs_to_one_family():
    terms = [term for families in SLOTS.values() for family in families for term in family]
    terms += [term for shared in SHARED.values() for term in shared]
    assert [term for term in terms if word_keys(term) != term] == []
    assert len(terms) == len(set(terms)), sorted({term for term in terms if terms.count(term) > 1})


@pytest.mark.parametrize(
    ("prompt", "script", "target"),
    [
        ("a birthday party, balloons, cheerful, joyful, 35mm", "+ creepy atmosphere", "a birthday party, balloons, 35mm, creepy atmosphere"),
        ("an old man at a table, melancholic, somber", "~ melancholic -> hopeful", "an old man at a table, hopeful"),
        ("1girl, expressionless, arms at sides", "+ big smile", "1girl, arms at sides, big smile"),
        ("1girl, crying, tears, rain", "+ laughing", "1girl, rain, laughing"),
        ("a desert highway, sunny, noon", "+ in a sandstorm", "a desert highway, noon, in a sandstorm"),
    ],
)
def test_mood_expression_and_weather_are_slots_too(prompt, script, target):
    assert edited(prompt, script)[0] == target


def test_a_mood_keeps_words_that_fit_either_feeling_and_rain_keeps_fog():
    assert edited("a forest, serene, dramatic", "+ eerie")[0] == "a forest, serene, dramatic, eerie"
    assert edited("a harbour, fog, overcast", "+ heavy rain")[0] == "a harbour, fog, overcast, heavy rain"


def test_deleting_a_bare_name_deletes_the_short_phrases_that_still_name_it_and_says_so():
    prompt = "1girl, kimono, holding umbrella, oil-paper umbrella, red umbrellas, shrine"
    target, script = edited(prompt, "- umbrella")
    assert target == "1girl, kimono, shrine"
    assert script == "- umbrella\n- oil-paper umbrella\n- red umbrellas"


@pytest.mark.parametrize(
    ("prompt", "script", "target"),
    [
        # a name with words of its own deletes only what it quotes
        ("a red umbrella, a blue umbrella, rain", "- red umbrella", "a blue umbrella, rain"),
        # a longer phrase is about something else too, and syntax is never swept along
        ("a cat, a girl under a red umbrella, (umbrella:1.2)", "- cat", "a girl under a red umbrella, (umbrella:1.2)"),
        ("umbrella, a girl under a red umbrella, (red umbrella:1.2)", "- umbrella", "a girl under a red umbrella, (red umbrella:1.2)"),
        # a phrase that names something else by the same word's compound stays
        ("a cat, cat ears, a sofa", "- cat", "cat ears, a sofa"),
    ],
)
def test_other_mentions_are_only_the_phrases_about_that_thing_alone(prompt, script, target):
    assert edited(prompt, script)[0] == target


def test_a_term_goes_with_the_word_that_names_its_slot():
    assert edited("a falconer, unsettling atmosphere, disquieting", "~ disquieting -> triumphant")[0] == "a falconer, triumphant"
    assert edited("1girl, anime style, night", "+ oil painting")[0] == "1girl, night, oil painting"
