from diffchat_tui.core.prompting import (
    BASE_FORMAT,
    FEW_SHOT,
    SCRIPT_SYSTEM_TEXT,
    SYSTEM_TEXT,
    TRAINED_FORMAT,
    Turn,
    build_messages,
    clean_target,
    comparable,
    format_for,
    read_answer,
    stop_for,
    training_example,
)


def test_first_turn_base_format_has_system_examples_and_the_real_turn():
    messages = build_messages("a cat on a sofa", "make it cyberpunk", fmt=BASE_FORMAT)
    assert messages[0] == {"role": "system", "content": SYSTEM_TEXT}
    assert len(messages) == 1 + 2 * sum(len(example.turns) for example in FEW_SHOT) + 1
    assert messages[-1] == {"role": "user", "content": "Prompt: a cat on a sofa\nInstruction: make it cyberpunk"}
    assert [m["role"] for m in messages[1:5]] == ["user", "assistant", "user", "assistant"]
    assert messages[3]["content"].startswith("Instruction: ")  # the examples show a follow-up turn too


def test_trained_format_has_no_examples_and_asks_for_a_script():
    messages = build_messages("a cat", "add a hat", fmt=TRAINED_FORMAT)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == SCRIPT_SYSTEM_TEXT
    assert stop_for(TRAINED_FORMAT) == [] and stop_for(BASE_FORMAT) == ["\n"]


def test_each_turn_extends_the_previous_turn_so_the_kv_cache_is_reused():
    for fmt, answer in ((BASE_FORMAT, "a cat on a sofa, night"), (TRAINED_FORMAT, "+ night")):
        first = build_messages("a cat on a sofa", "make it night", fmt=fmt)
        history = [Turn("make it night", "a cat on a sofa, night", "+ night")]
        second = build_messages("a cat on a sofa", "add rain", history, fmt=fmt)
        assert second[: len(first)] == first
        assert second[len(first) :] == [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "Instruction: add rain"},
        ]


def test_a_turn_without_a_script_is_shown_as_the_script_that_makes_it():
    history = [Turn("make it night", "a cat on a sofa, night"), Turn("swap the cat", "a dog on a sofa, night")]
    messages = build_messages("a cat on a sofa", "add rain", history, TRAINED_FORMAT)
    assert [m["content"] for m in messages if m["role"] == "assistant"] == ["+ night", "~ a cat -> a dog"]


def test_training_example_prompt_is_exactly_the_inference_request():
    history = [Turn("make it night", "a cat, night", "+ night")]
    example = training_example("a cat", "+ rain", "add rain", history)
    assert example["prompt"] == build_messages("a cat", "add rain", history, TRAINED_FORMAT)
    assert example["completion"] == [{"role": "assistant", "content": "+ rain"}]


def test_declared_format_falls_back_to_the_base_format():
    assert format_for("diffchat-v1") == "diffchat-v1"
    assert format_for("diffchat-v2") == "diffchat-v2"
    assert format_for(None) == BASE_FORMAT
    assert format_for("something-else") == BASE_FORMAT


def test_a_script_answer_is_applied_to_the_current_prompt():
    answer = read_answer("- the crane\n~ day -> night\n* masterpiece", "a harbour, a crane, boats, day", TRAINED_FORMAT)
    assert answer.target == "a harbour, boats, night, masterpiece"
    assert answer.script == "- the crane\n~ day -> night\n* masterpiece" and answer.clean
    quiet = read_answer("+ a kite\n* masterpiece", "a beach", TRAINED_FORMAT, beautify=False)
    assert quiet.target == "a beach, a kite" and quiet.script == "+ a kite"


def test_a_script_that_does_not_apply_says_why_and_changes_nothing_it_cannot():
    answer = read_answer("I think you want a giraffe\n- the giraffe", "a cat on a sofa", TRAINED_FORMAT)
    assert answer.target == "a cat on a sofa" and not answer.clean
    assert len(answer.problems) == 2
    assert read_answer("", "a cat", TRAINED_FORMAT).problems == ["the answer holds no edit operation"]


def test_a_whole_prompt_answer_is_cleaned():
    answer = read_answer('Prompt: "a dog, night"\nmore text', "a cat", BASE_FORMAT)
    assert answer.target == "a dog, night" and answer.script == "" and answer.clean


def test_clean_keeps_only_the_first_line_and_drops_labels_and_quotes():
    assert clean_target('\nNew prompt: "a cat, neon lights"\nThis prompt adds neon.') == "a cat, neon lights"
    assert clean_target("Prompt: 'a dog'") == "a dog"
    assert clean_target("**a red car, rain**") == "a red car, rain"


def test_clean_removes_an_echoed_instruction():
    instruction = "make it cyberpunk at night"
    assert clean_target("make it cyberpunk at night, a cat, neon", instruction) == "a cat, neon"
    assert clean_target("Make it cyberpunk at night a cat on a sofa", instruction) == "a cat on a sofa"
    assert clean_target("a cat Instruction: make it blue", "make it blue") == "a cat"


def test_clean_cuts_repetition_loops_and_duplicate_phrases():
    assert clean_target("a cat, neon, neon, Neon lights, neon") == "a cat, neon, Neon lights"
    assert clean_target("a cat on a sofa on a sofa on a sofa") == "a cat on a sofa"
    assert clean_target("very very detailed") == "very very detailed"
    assert clean_target("a cat cat cat cat") == "a cat cat"


def test_clean_keeps_long_prompts_and_quoted_words_whole():
    long = ", ".join(f"detail number {i}" for i in range(50))
    assert clean_target(long) == long  # no silent 60-word cut
    assert clean_target('a shop, a sign that reads "OPEN"') == 'a shop, a sign that reads "OPEN"'
    runaway = clean_target(", ".join(f"phrase {i}" for i in range(2000)))
    assert len(runaway) <= 2000 and runaway.endswith(runaway.split(", ")[-1])


def test_clean_strips_terminal_escapes_and_may_leave_nothing():
    assert clean_target("\x1b[31ma red cat\x1b[0m\x07") == "a red cat"
    assert clean_target("\x1b]8;;http://evil\x07link\x1b]8;;\x07") == "link"
    assert clean_target("  \n  ") == ""
    assert clean_target('"make it blue"', "make it blue") == ""


def test_comparable_ignores_case_punctuation_spacing_and_emphasis():
    assert comparable("A Cat,  on a SOFA!") == "a cat on a sofa"
    assert comparable("(wings:1.3), ((eyes)), [blur]") == "wings eyes blur"


def test_comparable_splits_hyphenated_words_so_each_part_matches():
    assert comparable("Ultra-detailed, close-up, (x:-0.5)") == "ultra detailed close up x"
