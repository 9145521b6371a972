"""Edit scripts: parsed from any text without a crash, applied so untouched text survives byte for byte."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffchat_tui.core.edit_script import Op, apply_script, format_script, parse_script
from diffchat_tui.core.prompt_syntax import is_balanced, parse

LONG = (
    "cinematic photo of an old fisherman mending nets on a wooden pier, a red umbrella, (golden hour:1.2), "
    "by greg rutkowski, 85mm lens, f/1.8, octane render, trending on artstation, masterpiece, best quality "
    "<lora:add_detail:0.6>"
)


def edit(prompt: str, script: str, **options) -> str:
    parsed = parse_script(script)
    assert not parsed.errors, parsed.errors
    result = apply_script(prompt, parsed.ops, **options)
    assert result.clean, result.failed
    return result.prompt


def test_each_operation_reads_back_as_written():
    script = "- the crane\n~ day -> night\n+ a red umbrella\n+ a lamp @ a cat\n* masterpiece, sharp focus\n= a dog"
    parsed = parse_script(script)
    assert [op.kind for op in parsed.ops] == ["delete", "replace", "add", "add", "quality", "rewrite"]
    assert parsed.ops[3] == Op("add", "a lamp", anchor="a cat")
    assert format_script(parsed.ops) == script


def test_odd_lines_are_reported_not_raised_and_repeats_are_dropped():
    parsed = parse_script("Sure! Here is the script:\n- boats\n- boats\n~ only one side\n~ -> x\n+\n`+ a kite`")
    assert parsed.ops == [Op("delete", "boats"), Op("add", "a kite")]
    assert len(parsed.errors) == 4
    assert all(isinstance(error, str) for error in parsed.errors)


def test_other_arrows_are_read_too():
    assert parse_script("~ cat => dog").ops == parse_script("~ cat → dog").ops == [Op("replace", "cat", "dog")]


@pytest.mark.parametrize(
    ("prompt", "script", "expected"),
    [
        ("a cat on a sofa, oil painting", "+ a red umbrella", "a cat on a sofa, oil painting, a red umbrella"),
        ("a cat on a sofa, oil painting", "+ a red umbrella @ a cat on a sofa", "a cat on a sofa, a red umbrella, oil painting"),
        ("a cat on a sofa, a red umbrella", "~ red umbrella -> blue umbrella", "a cat on a sofa, a blue umbrella"),
        ("a cat sleeping in a room with a red umbrella at night", "- a red umbrella", "a cat sleeping in a room at night"),
        ("a cat with a hat and a scarf on a sofa", "- a hat", "a cat with a scarf on a sofa"),
        ("a garden with roses, a fountain and a statue", "- a fountain", "a garden with roses, a statue"),
        ("a dog and a cat", "- a dog", "a cat"),
        ("a painting of a cat", "- a cat", "a painting"),
        ("a cat on a sofa", "- a sofa", "a cat"),  # no preposition left without its object
        ("a cat on a sofa, oil painting", "- a sofa", "a cat, oil painting"),
        ("a castle in the mountains at dusk", "- the mountains", "a castle at dusk"),
        ("a cat on a sofa with a blanket", "- a sofa", "a cat with a blanket"),
        ("a cat on a red sofa", "- red", "a cat on a sofa"),
        ("a cat on a sofa, a dog", "- dog", "a cat on a sofa"),  # a quote without its article takes it along
        ("a cat on a sofa", "- sofa", "a cat"),
        ("1girl,solo,long hair", "- solo", "1girl,long hair"),  # the user's own spacing stays
    ],
)
def test_operations_mend_only_their_seams(prompt, script, expected):
    assert edit(prompt, script) == expected


def test_untouched_text_and_syntax_survive_byte_for_byte():
    result = edit(LONG, "~ a red umbrella -> a blue umbrella\n- 85mm lens\n+ seagulls")
    assert result == LONG.replace("a red umbrella", "a blue umbrella").replace(" 85mm lens,", "").replace(
        ", masterpiece, best quality <lora", ", masterpiece, best quality, seagulls, <lora"
    )
    for piece in ("(golden hour:1.2)", "<lora:add_detail:0.6>", "f/1.8", "by greg rutkowski"):
        assert piece in result


def test_an_edit_inside_emphasis_keeps_the_weight_and_brackets_balanced():
    prompt = "(dramatic clouds:1.3), castle, ((detailed eyes))"
    assert edit(prompt, "~ dramatic clouds -> soft clouds") == "(soft clouds:1.3), castle, ((detailed eyes))"
    assert edit(prompt, "~ (dramatic clouds:1.3) -> (dramatic clouds:1.1)") == "(dramatic clouds:1.1), castle, ((detailed eyes))"
    assert edit(prompt, "- dramatic clouds") == "castle, ((detailed eyes))"
    assert edit(prompt, "- detailed eyes") == "(dramatic clouds:1.3), castle"
    assert edit("((a (b:1.2))), c", "- b") == "((a)), c"


def test_unbalanced_new_text_cannot_unbalance_the_prompt():
    result = edit("a cat, (sofa:1.2)", "~ a cat -> a (dog")
    assert is_balanced(result) and result == "a dog, (sofa:1.2)"


def test_break_lines_and_network_tags_stay_where_they_were():
    prompt = "portrait of a man BREAK\nforest background, __animal__, {red|blue} car <lora:x:0.5>"
    result = edit(prompt, "~ a man -> a woman\n+ a river")
    assert result == "portrait of a woman BREAK\nforest background, __animal__, {red|blue} car, a river, <lora:x:0.5>"


def test_forgiving_quotes_find_their_span():
    prompt = "a crane over the harbour, boats, sunset"
    assert edit(prompt, "- the crane") == "over the harbour, boats, sunset"  # a wrong article
    assert edit(prompt, "- the cranes") == "over the harbour, boats, sunset"  # a near miss
    assert edit(prompt, "- BOATS!") == "a crane over the harbour, sunset"  # case and punctuation


def test_a_quote_names_the_whole_phrase_before_the_same_words_inside_another():
    prompt = "no humans, evening sky, evening, winter"
    assert edit(prompt, "~ evening -> (evening:0.7)") == "no humans, evening sky, (evening:0.7), winter"
    assert edit(prompt, "- evening") == "no humans, evening sky, winter"
    assert edit("evening sky, winter", "- evening") == "sky, winter"  # no whole phrase: the first occurrence


def test_swapped_replacement_sides_are_set_right():
    assert edit("a cat on a sofa, oil painting", "~ watercolor -> oil painting") == "a cat on a sofa, watercolor"


def test_quality_words_are_their_own_op_never_doubled_and_can_be_turned_off():
    assert edit("a cat, sharp focus", "* masterpiece, sharp focus") == "a cat, sharp focus, masterpiece"
    assert edit("a cat", "+ a hat\n* masterpiece", beautify=False) == "a cat, a hat"


def test_what_cannot_apply_is_reported_and_the_rest_still_applies():
    result = apply_script("a cat on a sofa", [Op("delete", "a giraffe"), Op("add", "a hat"), Op("add", "a cat")])
    assert result.prompt == "a cat on a sofa, a hat"
    assert [op.text for op, _ in result.failed] == ["a giraffe", "a cat"]
    assert "not in the prompt" in result.failed[0][1] and "already" in result.failed[1][1]


def test_a_replacement_that_would_repeat_what_is_there_is_refused():
    result = apply_script("city, buildings, skyscrapers, clouds", [Op("replace", "skyscrapers", "Buildings")])
    assert result.prompt == "city, buildings, skyscrapers, clouds"
    assert "already in the prompt" in result.failed[0][1]
    assert edit("a red car, blue sky", "~ red -> blue") == "a blue car, blue sky"  # a word of a phrase is no phrase
    assert edit("moon, stars", "~ moon -> massive moon") == "massive moon, stars"  # the span's own phrase may grow
    assert edit("evening, sky", "~ evening -> (evening:0.7)") == "(evening:0.7), sky"
    prompt = "a clown, a rainbow on the right, candlelight"
    assert "changes nothing" in apply_script(prompt, [Op("replace", "a rainbow", "a rainbow on the right")]).failed[0][1]
    assert edit("a rainbow on the rightmost hill", "~ a rainbow -> a rainbow on the right") == "a rainbow on the right on the rightmost hill"
    assert edit("a sign that reads sale", "~ sale -> SALE") == "a sign that reads SALE"  # a change of case is a change


def test_a_replacement_keeps_the_quotation_marks_its_quote_left_out():
    assert edit('a sign that reads "sale"', "~ sale -> SALE") == 'a sign that reads "SALE"'
    assert edit('a banner that reads "OPEN", a shop', "~ OPEN -> CLOSED") == 'a banner that reads "CLOSED", a shop'
    assert edit('a sign that reads "sale"', '~ "sale" -> "SALE"') == 'a sign that reads "SALE"'  # quoted with them: as written
    assert edit('a sign that reads "sale", a shop', "- sale") == "a sign that reads, a shop"  # a delete takes them along


def test_rewrite_replaces_everything():
    assert edit("a cat", "= a dog on a beach") == "a dog on a beach"


PROMPTS = st.sampled_from(
    [LONG, "a cat on a sofa", "(a:1.2), [b], ((c d)), e <lora:x:1>", "1girl, solo, {red|blue} hair, __x__ BREAK\nsky", ""]
)
SCRIPT_PIECES = st.lists(
    st.sampled_from(["-", "~", "+", "*", "=", " ", "->", "@", "\n", "a", "cat", "(", ")", "[", "]", "<", ":1.2", "red umbrella", ","]),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(PROMPTS, SCRIPT_PIECES, st.booleans())
def test_any_answer_gives_a_balanced_prompt_and_never_raises(prompt, pieces, beautify):
    parsed = parse_script("".join(pieces))
    result = apply_script(prompt, parsed.ops, beautify=beautify)
    assert isinstance(result.prompt, str)
    if is_balanced(prompt) and not any(op.kind == "rewrite" for op in result.done):
        assert is_balanced(result.prompt)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=200))
def test_arbitrary_unicode_never_raises(prompt, answer):
    apply_script(prompt, parse_script(answer).ops)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 40), st.integers(1, 4))
def test_syntax_outside_a_deleted_span_survives(start, length):
    words = [unit for unit in parse(LONG).words()]
    chosen = words[start % len(words) : start % len(words) + length]
    quote = LONG[chosen[0].start : chosen[-1].end]
    result = apply_script(LONG, [Op("delete", quote)])
    span = (chosen[0].start, chosen[-1].end)
    for piece in parse(LONG).syntax_elements():
        at = LONG.index(piece)
        if at + len(piece) <= span[0] or at >= span[1]:
            assert piece in result.prompt


def test_an_add_anchored_inside_an_atom_goes_after_that_atom_and_leaves_it_whole():
    prompt = "1girl, solo, [cat:fox:0.5], forest, <lora:add_detail:0.6>"
    applied = apply_script(prompt, [Op("add", "a red scarf", anchor="cat")])
    assert applied.prompt == "1girl, solo, [cat:fox:0.5], a red scarf, forest, <lora:add_detail:0.6>"
    assert apply_script(prompt, [Op("delete", "cat")]).prompt == prompt  # only an anchor may point inside an atom


def test_an_add_before_break_keeps_break_and_its_line():
    prompt = "1girl, [cat:fox:0.5] BREAK\nforest"
    assert apply_script(prompt, [Op("add", "a red scarf", anchor="cat")]).prompt == "1girl, [cat:fox:0.5], a red scarf, BREAK\nforest"
