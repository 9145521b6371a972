"""ADM on the real SmolLM2 through real llama.cpp: the positive action space complies more often than plain
sampling, the negative one less often. Fixed seeds; the comparison pools six requests of different kinds."""

from __future__ import annotations

import pytest

from trainer.metrics import has_phrase
from trainer.rl.rewards import Request
from trainer.rl.sampling import ActionSpaces, SamplingConfig, default_quality_words, sample_all, sample_request

REQUESTS = [
    Request("a fisherman on a wooden pier, seagulls, sunset", "put a red umbrella next to him",
            include=("red umbrella",), keep=("fisherman", "pier")),
    Request("a raccoon running on a country road with a black balloon", "switch the raccoon out for a tabby cat",
            include=("tabby cat",), exclude=("raccoon",), keep=("country road", "balloon")),
    Request("a barn owl in a canyon, storm clouds, stained glass design", "the storm clouds have to go",
            exclude=("clouds",), keep=("barn owl", "canyon")),
    Request("a parrot on a rocky cliff, a wooden chest", "restyle it as a noir film still",
            include=("noir film still",), keep=("parrot", "wooden chest")),
    Request("a businessman in a cluttered workshop", "give him a black kite and show it from the front",
            include=("black kite", "front view"), keep=("businessman", "workshop")),
    Request("a small house by a lake, summer", "make it sunrise", include=("sunrise",), exclude=("summer",), keep=("house", "lake")),
]  # fmt: skip


def complies(text: str, request: Request) -> bool:
    return all(has_phrase(text, p) for p in request.include) and not any(has_phrase(text, p) for p in request.exclude)


@pytest.fixture(scope="module")
def base_engine():
    """The embedded SmolLM2 without any adapter (few-shot format): a policy that often half-applies an edit."""
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
    from diffchat_tui.engines.models import resolve_llm

    engine = LlamaCppEngine(resolve_llm("base"), prefix_cache=False)
    engine.load()
    return engine


def test_positive_space_complies_more_and_negative_less_than_plain(base_engine):
    from diffchat_tui.core.prompting import format_for

    config = SamplingConfig(k_plain=3, k_positive=3, k_negative=3, max_tokens=40, seed=0, quality_words=default_quality_words())
    spaces = ActionSpaces(base_engine.tokenize, config)
    counts: dict[str, list[int]] = {}
    for request in REQUESTS:
        for candidate in sample_request(base_engine, request, format_for(base_engine.declared_format), config, spaces):
            counts.setdefault(candidate.space, []).append(complies(candidate.text, request))
    rate = {space: sum(hits) / len(hits) for space, hits in counts.items()}
    assert len(counts["plain"]) == len(counts["positive"]) == len(counts["negative"]) == 18
    assert "reference" not in counts  # these requests carry no reference target
    assert rate["positive"] >= rate["plain"] + 0.15, rate
    assert rate["negative"] <= rate["plain"] - 0.15, rate


def test_bias_maps_follow_the_request(base_engine):
    config = SamplingConfig(quality_words=("sharp focus",))
    spaces = ActionSpaces(base_engine.tokenize, config)
    replace = REQUESTS[1]
    positive, negative = spaces.positive(replace), spaces.negative(replace, "ignore")
    cat, raccoon = spaces.word_tokens("tabby"), spaces.word_tokens("raccoon")
    assert all(positive[t] == config.include_boost for t in cat) and all(positive[t] == config.suppress for t in raccoon)
    assert all(negative[t] == config.suppress for t in cat) and all(negative[t] > 0 for t in raccoon)
    assert all(t in positive for t in spaces.word_tokens("sharp"))  # quality modifiers are boosted
    verbatim = spaces.negative(replace, "verbatim")
    assert all(verbatim.get(t, 0) > 0 for t in spaces.word_tokens("balloon"))


def test_for_edit_scripts_what_goes_can_be_named_in_the_positive_space_and_not_in_the_negative(base_engine):
    """`~ raccoon -> tabby cat` must say "raccoon": banning it would make the positive space unable to replace."""
    config = SamplingConfig()
    spaces = ActionSpaces(base_engine.tokenize, config, scripts=True)
    replace = REQUESTS[1]
    positive, negative = spaces.positive(replace), spaces.negative(replace, "ignore")
    cat, raccoon, road = spaces.word_tokens("tabby"), spaces.word_tokens("raccoon"), spaces.word_tokens("road")
    assert all(positive[t] == config.include_boost for t in cat)
    assert all(0 < positive[t] < config.include_boost for t in raccoon)
    assert not any(t in positive for t in road)  # code keeps untouched text: naming it could only delete it
    assert all(negative[t] == config.suppress for t in cat | raccoon)
    assert all(spaces.negative(replace, "verbatim")[t] == config.suppress for t in raccoon)


def test_samples_are_cached_and_reused(base_engine, tmp_path):
    config = SamplingConfig(k_plain=1, k_positive=0, k_negative=1, max_tokens=16)
    cache = tmp_path / "samples.jsonl"
    first = sample_all(base_engine, REQUESTS[:2], config, cache)
    cache.write_text(cache.read_text() + '{"key": "cut short by a cra')  # a kill -9 mid-write
    again = sample_all(base_engine, REQUESTS[:2], config, cache)
    assert [[c.text for c in pool.candidates] for pool in again] == [[c.text for c in pool.candidates] for pool in first]
    assert len(cache.read_text().splitlines()) == 3  # nothing was sampled twice
