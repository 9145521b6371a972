"""What RL asks of the llama.cpp engine, through its public methods: tokenize, complete with logit_bias, unload."""

from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from diffchat_tui.engines.models import resolve_llm

MESSAGES = [{"role": "user", "content": "Name one colour. Answer with one word."}]


def test_complete_follows_logit_bias_and_unload_frees_until_the_next_call():
    engine = LlamaCppEngine(resolve_llm("base"), n_ctx=512, prefix_cache=False)
    greedy = dict(temperature=0.0, seed=0, max_tokens=4, stop=["\n"])
    plain = engine.complete(MESSAGES, **greedy)
    word = plain.split()[0]
    assert engine.cached_tokens > 0

    ban = {engine.tokenize(spelling)[0]: -100.0 for spelling in (word, f" {word}")}  # both ways the word can start
    banned = engine.complete(MESSAGES, **greedy, logit_bias=ban)
    assert banned.split() and banned.split()[0] != word

    engine.unload()
    assert engine.cached_tokens == 0
    assert engine.complete(MESSAGES, **greedy) == plain  # loads again, same greedy answer
