"""Pairs become scripts: short, quoting the prompt, and always leading back to the edited prompt."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffchat_tui.core.edit_script import apply_script, format_script
from diffchat_tui.core.script_diff import normalized, script_from_pair

QUALITY = {"masterpiece", "best quality", "highly detailed", "sharp focus"}


@pytest.mark.parametrize(
    ("current", "target", "script"),
    [
        ("a cat on a sofa", "a cat on a sofa, a red umbrella", "+ a red umbrella"),
        ("a cat on a sofa, oil painting", "a cat on a sofa, a red umbrella, oil painting", "+ a red umbrella @ a cat on a sofa"),
        ("a cat on a sofa, oil painting", "a cat on a sofa, watercolor", "~ oil painting -> watercolor"),
        ("a cat, a red umbrella, rain", "a cat, a blue umbrella, rain", "~ red umbrella -> blue umbrella"),
        ("a cat sleeping in a room with a red umbrella at night", "a cat sleeping in a room at night", "- a red umbrella"),
        ("a cat on a sofa", "a cat on a sofa, masterpiece, sharp focus", "* masterpiece, sharp focus"),
        ("1girl, long hair, <lora:x:0.6>", "1girl, short hair, smile, <lora:x:0.6>", "~ long hair -> short hair\n+ smile"),
        ("(dramatic clouds:1.3), castle", "(dramatic clouds:1.1), castle", "~ (dramatic clouds:1.3) -> (dramatic clouds:1.1)"),
        ("a red car and a red bike", "a red car and a blue bike", "~ red bike -> blue bike"),
    ],
)
def test_natural_scripts_for_common_edits(current, target, script):
    assert format_script(script_from_pair(current, target, QUALITY)) == script


def test_same_prompt_needs_no_script_and_a_new_prompt_is_a_rewrite():
    assert script_from_pair("a cat,  on a sofa", "a cat, on a sofa") == []
    ops = script_from_pair("a cat on a sofa", "a spaceship orbiting a blue planet, digital art")
    assert [op.kind for op in ops] == ["rewrite"]


WORDS = st.sampled_from(["a", "cat", "dog", "red", "(hat:1.2)", "<lora:x:1>", "on", "sofa", "night", ",", "BREAK", "and", "with"])


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=14), st.lists(WORDS, min_size=1, max_size=14))
def test_every_script_leads_back_to_the_target(old, new):
    current, target = " ".join(old), " ".join(new)
    ops = script_from_pair(current, target)
    result = apply_script(current, ops)
    assert result.clean
    assert normalized(result.prompt) == normalized(target)
