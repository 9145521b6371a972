"""The editor on the real embedded model through real llama.cpp."""

import threading

import pytest

from diffchat_tui.core.errors import GenerationError
from diffchat_tui.core.prompting import FORMAT_METADATA_KEY, Turn, comparable
from diffchat_tui.engines.editor import Editor, GenerationOptions
from diffchat_tui.engines.llm import ContextOverflow


def test_edit_gives_a_clean_changed_prompt_with_timings(llama_engine):
    result = Editor(llama_engine).edit("a cat on a sofa", "make it cyberpunk at night")
    assert result.target and "\n" not in result.target
    assert comparable(result.target) != comparable("a cat on a sofa")
    assert result.model.startswith("embedded")
    assert result.timings.tokens > 0 and result.timings.total_s >= result.timings.ttft_s > 0


def test_greedy_decoding_is_repeatable():
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    # Run twice as a user would (two processes): the same cache state, the same answer. Within one engine the
    # second request reuses the first's KV cache, which may tip a near tie (llama.cpp's batched arithmetic).
    first = Editor(LlamaCppEngine(resolve_llm("embedded"))).edit("a red car in the desert", "add a storm")
    again = Editor(LlamaCppEngine(resolve_llm("embedded"))).edit("a red car in the desert", "add a storm")
    assert again.target == first.target and again.script == first.script


def test_candidates_are_distinct(llama_engine):
    results = Editor(llama_engine).candidates("a lighthouse on a cliff", "make it a watercolor", 3)
    targets = [comparable(result.target) for result in results]
    assert len(results) == 3 and len(set(targets)) == 3


def test_the_plain_base_declares_no_format_so_it_gets_few_shot():
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import read_gguf_string, resolve_llm

    base = LlamaCppEngine(resolve_llm("base"))
    base.load()
    assert read_gguf_string(base.model.path, FORMAT_METADATA_KEY) is None and base.declared_format is None
    assert Editor(base).prompt_format == "fewshot-v1"
    assert Editor(base, GenerationOptions(prompt_format="diffchat-v1")).prompt_format == "diffchat-v1"


def test_cancel_stops_the_stream_after_the_current_token(llama_engine):
    cancel = threading.Event()
    pieces = []
    messages = [{"role": "user", "content": "Write a long story about a dragon."}]
    for piece in llama_engine.stream(messages, temperature=0, seed=0, max_tokens=64, stop=[], cancel=cancel):
        pieces.append(piece)
        cancel.set()
    assert len(pieces) == 1


def test_an_overflowing_conversation_continues_from_the_current_prompt():
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    small = LlamaCppEngine(resolve_llm("embedded"), n_ctx=512)
    phrases = [f"a castle number {i} on a hill with many towers and flags" for i in range(40)]
    history = [Turn(f"make it castle {i}", phrases[i], f"~ {phrases[i - 1]} -> {phrases[i]}") for i in range(1, 40)]
    warnings = []
    result = Editor(small, warn=warnings.append).edit(phrases[0], "make it night", history)
    assert result.source == history[-1].target
    assert result.target
    assert "outgrew the model's context" in warnings[0]
    with pytest.raises(ContextOverflow):
        list(small.stream([{"role": "user", "content": "castle " * 600}], temperature=0, seed=0, max_tokens=8, stop=[]))


class GarbageEngine:
    """Fault injection: a model that answers only blank lines."""

    name = "garbage"
    declared_format = None

    def load(self):
        return 0.0

    def prime(self, prefix):
        pass

    def stream(self, messages, **options):
        yield "\n\n  \n"


def test_a_model_that_gives_nothing_usable_is_an_error():
    with pytest.raises(GenerationError, match="gave no usable prompt"):
        Editor(GarbageEngine()).edit("a cat", "add a hat")


class EscapingEngine(GarbageEngine):
    """Fault injection: model output trying to drive the terminal."""

    def stream(self, messages, **options):
        yield from ["\x1b]0;owned\x07", "a cat, ", "\x1b[31mred hat\x1b[0m"]


def test_model_output_never_carries_escape_sequences():
    assert Editor(EscapingEngine()).edit("a cat", "add a red hat").target == "a cat, red hat"


def test_the_prefix_state_is_saved_once_and_restored_in_a_new_engine(temp_home):
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    first = Editor(LlamaCppEngine(resolve_llm("embedded"))).edit("a red barn", "make it autumn")
    (state_file,) = (temp_home / "cache" / "kv").glob("prefix-*.bin")

    restored_engine = LlamaCppEngine(resolve_llm("embedded"))
    restored = Editor(restored_engine)
    restored.load()
    assert restored_engine.cached_tokens > 20  # the fixed prefix came back from disk
    assert restored.edit("a red barn", "make it autumn").target == first.target

    state_file.write_bytes(b"not a llama.cpp state file")
    recomputed_engine = LlamaCppEngine(resolve_llm("embedded"))
    assert Editor(recomputed_engine).edit("a red barn", "make it autumn").target == first.target
    assert state_file.stat().st_size > 100_000  # rewritten


def test_the_prefix_cache_can_be_turned_off(temp_home):
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    engine = LlamaCppEngine(resolve_llm("embedded"), prefix_cache=False)
    assert Editor(engine).edit("a red barn", "make it autumn").target
    assert not (temp_home / "cache" / "kv").exists()


class ScriptedEngine(GarbageEngine):
    """Fault injection: a script-layout model whose answers are given in advance, one per try."""

    declared_format = "diffchat-v2"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked = 0

    def stream(self, messages, **options):
        self.asked += 1
        yield self.answers.pop(0) if self.answers else "???"


def test_a_script_that_does_not_apply_is_asked_for_again():
    engine = ScriptedEngine("Sure! Here you go", "- the giraffe", "+ a red hat")
    warnings = []
    result = Editor(engine, warn=warnings.append).edit("a cat on a sofa", "add a red hat")
    assert result.target == "a cat on a sofa, a red hat" and result.script == "+ a red hat"
    assert engine.asked == 3 and warnings == []


def test_when_no_try_applies_the_prompt_is_kept_with_a_warning():
    engine = ScriptedEngine("- the giraffe", "gibberish", "~ only one side")
    warnings = []
    result = Editor(engine, GenerationOptions(retries=2), warn=warnings.append).edit("a cat on a sofa", "remove the giraffe")
    assert result.target == "a cat on a sofa" and result.problems
    assert engine.asked == 3 and "the prompt is unchanged" in warnings[0]


def test_part_of_a_script_applies_with_a_warning():
    engine = ScriptedEngine("+ a hat\n- the giraffe", "+ a hat\n- the giraffe", "+ a hat\n- the giraffe")
    warnings = []
    result = Editor(engine, warn=warnings.append).edit("a cat", "add a hat, lose the giraffe")
    assert result.target == "a cat, a hat" and result.script == "+ a hat"
    assert "part of the edit could not be applied" in warnings[0]


def test_a_negative_prompt_request_changes_the_negative_prompt():
    engine = ScriptedEngine("!+ text, watermark")
    result = Editor(engine).edit("a cat", "no text or watermarks", negative="lowres")
    assert (result.target, result.negative) == ("a cat", "lowres, text, watermark")
    follow = ScriptedEngine("!- text")
    again = Editor(follow).edit("a cat", "text is fine", [result.turn], negative="lowres")
    assert again.negative == "lowres, watermark"
