from diffchat_tui.core.prompting import (
    BASE_FORMAT,
    FEW_SHOT,
    MAX_TARGET_WORDS,
    SYSTEM_TEXT,
    TRAINED_FORMAT,
    Turn,
    build_messages,
    clean_target,
    comparable,
    format_for,
    training_example,
)


def test_first_turn_base_format_has_system_examples_and_the_real_turn():
    messages = build_messages("a cat on a sofa", "make it cyberpunk", fmt=BASE_FORMAT)
    assert messages[0] == {"role": "system", "content": SYSTEM_TEXT}
    assert len(messages) == 1 + 2 * sum(len(example.turns) for example in FEW_SHOT) + 1
    assert messages[-1] == {"role": "user", "content": "Prompt: a cat on a sofa\nInstruction: make it cyberpunk"}
    assert [m["role"] for m in messages[1:5]] == ["user", "assistant", "user", "assistant"]
    assert messages[3]["content"].startswith("Instruction: ")  # the examples show a follow-up turn too


def test_trained_format_has_no_examples():
    messages = build_messages("a cat", "add a hat", fmt=TRAINED_FORMAT)
    assert [m["role"] for m in messages] == ["system", "user"]


def test_each_turn_extends_the_previous_turn_so_the_kv_cache_is_reused():
    first = build_messages("a cat on a sofa", "make it night")
    second = build_messages("a cat on a sofa", "add rain", [Turn("make it night", "a cat on a sofa, night")])
    assert second[: len(first)] == first
    assert second[len(first) :] == [
        {"role": "assistant", "content": "a cat on a sofa, night"},
        {"role": "user", "content": "Instruction: add rain"},
    ]


def test_training_example_prompt_is_exactly_the_inference_request():
    history = [Turn("make it night", "a cat, night")]
    example = training_example("a cat", "a cat, night, rain", "add rain", history)
    assert example["prompt"] == build_messages("a cat", "add rain", history, TRAINED_FORMAT)
    assert example["completion"] == [{"role": "assistant", "content": "a cat, night, rain"}]


def test_declared_format_falls_back_to_the_base_format():
    assert format_for("diffchat-v1") == "diffchat-v1"
    assert format_for(None) == BASE_FORMAT
    assert format_for("something-else") == BASE_FORMAT


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


def test_clean_caps_the_length_at_a_phrase_boundary():
    long = ", ".join(f"detail number {i}" for i in range(50))
    cleaned = clean_target(long)
    assert len(cleaned.split()) <= MAX_TARGET_WORDS
    assert cleaned.endswith(str(len(cleaned.split(", ")) - 1))
    assert len(clean_target(" ".join(["word"] * 10 + [f"w{i}" for i in range(200)])).split()) == MAX_TARGET_WORDS


def test_clean_strips_terminal_escapes_and_may_leave_nothing():
    assert clean_target("\x1b[31ma red cat\x1b[0m\x07") == "a red cat"
    assert clean_target("\x1b]8;;http://evil\x07link\x1b]8;;\x07") == "link"
    assert clean_target("  \n  ") == ""
    assert clean_target('"make it blue"', "make it blue") == ""


def test_comparable_ignores_case_punctuation_and_spacing():
    assert comparable("A Cat,  on a SOFA!") == "a cat on a sofa"
