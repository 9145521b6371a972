"""A1111 and dynamic-prompts syntax: what is an atom, what is an emphasis group, and never a crash."""

from hypothesis import given, settings
from hypothesis import strategies as st

from diffchat_tui.core.prompt_syntax import is_balanced, parse

SYNTAX_HEAVY = (
    "masterpiece, (best quality:1.2), ((detailed eyes)), [blurry], 1girl, <lora:add_detail:0.6>, __animal__, "
    "{red|blue|green} car, [cat:dog:0.5], [add:10], [remove::0.3], [garden|forest], embedding:EasyNegative, "
    "\\(artist\\) BREAK\nforest AND a dragon"
)


def texts_of(parsed, kind):
    return [parsed.unit_text(unit) for unit in parsed.units if unit.kind == kind]


def test_atoms_keywords_and_groups_of_a_syntax_heavy_prompt():
    parsed = parse(SYNTAX_HEAVY)
    assert parsed.structured
    assert texts_of(parsed, "atom") == [
        "<lora:add_detail:0.6>", "__animal__", "{red|blue|green}", "[cat:dog:0.5]", "[add:10]", "[remove::0.3]",
        "[garden|forest]", "embedding:EasyNegative", "\\(", "\\)",
    ]  # fmt: skip
    assert texts_of(parsed, "keyword") == ["BREAK", "AND"]
    groups = {SYNTAX_HEAVY[g.start : g.end]: g.kind for g in parsed.groups}
    assert groups == {"(best quality:1.2)": "weighted", "((detailed eyes))": "emphasis", "(detailed eyes)": "emphasis", "[blurry]": "deemphasis"}
    weighted = next(g for g in parsed.groups if g.kind == "weighted")
    assert parsed.unit_text(weighted.close) == ":1.2)"  # the weight belongs to the closing bracket


def test_syntax_elements_are_quoted_as_written():
    elements = parse("a (cat:1.3) with <lora:x:0.5> and ((a (hat:1.2))) BREAK sky").syntax_elements()
    assert elements == ["(cat:1.3)", "<lora:x:0.5>", "((a (hat:1.2)))", "(a (hat:1.2))", "(hat:1.2)", "BREAK"]


def test_colons_and_pipes_in_plain_words_are_text():
    parsed = parse("time 10:30, a 2:1 ratio, this|that")
    assert parsed.structured and not parsed.groups
    assert texts_of(parsed, "atom") == []


def test_unbalanced_prompt_is_read_as_plain_words():
    parsed = parse("(unclosed, a cat [on a sofa")
    assert not parsed.structured
    assert [parsed.unit_text(u) for u in parsed.words()] == ["unclosed", "a", "cat", "on", "a", "sofa"]


def test_plain_prompt_needs_no_parser_and_has_no_syntax():
    parsed = parse("a cat on a sofa, oil painting")
    assert parsed.syntax_elements() == [] and parsed.structured


def test_cuts_knows_atoms_and_half_groups():
    text = "a (red car:1.2) near <lora:x:1>"
    parsed = parse(text)
    red = text.index("red")
    assert parsed.cuts(red, red + 3) is False  # inside a group is fine
    assert parsed.cuts(0, red) is True  # takes the opening bracket only
    lora = text.index("<lora")
    assert parsed.cuts(lora + 2, len(text)) is True


def test_is_balanced_ignores_escaped_brackets():
    assert is_balanced("a \\(b\\) (c:1.2) [d] {e|f}")
    assert not is_balanced("a (b")
    assert not is_balanced("a ]b[")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab ,:|()[]{}<>_\\\n.1") + ["BREAK", "AND", "lora:", "embedding:"]), max_size=40))
def test_any_text_parses_into_units_that_tile_it(pieces):
    text = "".join(pieces)
    parsed = parse(text)
    position = 0
    for unit in parsed.units:
        assert unit.start == position and unit.end > unit.start
        position = unit.end
    assert position == len(text)
