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


def test_prefill_takes_the_idle_cores_and_decode_at_most_one_more(monkeypatch):
    from diffchat_tui.engines import llm_llamacpp

    monkeypatch.setattr(llm_llamacpp, "default_threads", lambda: 4)
    engine = LlamaCppEngine(resolve_llm("base"), n_ctx=512, prefix_cache=False)
    greedy = dict(temperature=0.0, seed=0, max_tokens=2, stop=["\n"])
    for idle, expected in ((3, (2, 4)), (0, (1, 1)), (None, (1, 1)), (1, (2, 2))):  # None: no /proc/loadavg
        monkeypatch.setattr(llm_llamacpp, "idle_cores", lambda cores, idle=idle: idle)
        engine.complete(MESSAGES, **greedy)
        assert engine.threads == expected

    chosen = LlamaCppEngine(resolve_llm("base"), n_ctx=512, n_threads=1, prefix_cache=False)
    monkeypatch.setattr(llm_llamacpp, "idle_cores", lambda cores: 3)
    chosen.complete(MESSAGES, **greedy)
    assert chosen.threads == (1, 1)  # a user's n_threads is used as it is


def test_idle_cores_reads_the_kernels_runnable_count(tmp_path):
    from diffchat_tui.engines.cpu_share import holding
    from diffchat_tui.engines.llm_llamacpp import batch_threads, idle_cores, small_model_decode_threads

    loadavg, tasks = tmp_path / "loadavg", tmp_path / "task"
    for tid, state in ((1, "R"), (2, "S"), (3, "R")):  # two of our own threads runnable, one asleep
        (tasks / str(tid)).mkdir(parents=True)
        (tasks / str(tid) / "stat").write_text(f"{tid} (python) (x) {state} 1 1 0 0 -1")
    for line, idle in (("0.09 0.65 0.85 2/80 8552", 2), ("2.10 1.00 0.92 3/81 8553", 1), ("1 1 1 6/81 1", 0), ("", None), ("a b c d/e f", None)):
        loadavg.write_text(line)
        assert idle_cores(2, str(loadavg), str(tasks)) == idle
    assert idle_cores(2, str(tmp_path / "missing")) is None
    assert idle_cores(2) is not None  # the real files parse
    loadavg.write_text("0.09 0.65 0.85 2/80 8552")  # our render's threads are runnable, and it holds a core
    with holding(1):
        assert idle_cores(2, str(loadavg), str(tasks)) == 1
        with holding(2):
            assert idle_cores(2, str(loadavg), str(tasks)) == 0
    assert idle_cores(2, str(loadavg), str(tasks)) == 2
    assert [batch_threads(1, 2, idle) for idle in (None, 0, 1, 5)] == [1, 1, 2, 2]
    assert [small_model_decode_threads(cores, idle) for cores, idle in ((2, None), (2, 0), (2, 1), (8, 7), (1, 0))] == [1, 1, 2, 2, 1]
