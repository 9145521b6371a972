"""CLIP token counts: the packaged BPE agrees with transformers' CLIP tokenizer; chunks follow A1111."""

import gzip
import json

from diffchat_tui.core.clip_tokens import CHUNK, clip_text, count_tokens, packaged_tokenizer, vocab_file

PROMPTS = (
    "a photo of an astronaut riding a horse!!",
    "1girl, solo, long hair, masterpiece, best quality",
    "Café über naïve ﬁsh 8k uhd",
    "f/1.8, 85mm, octane-render, i'm here, it's",
    "a  cat\n\ton a sofa",
)


def test_packaged_bpe_matches_transformers_clip_tokenizer(tmp_path):
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    merges = gzip.open(vocab_file(), "rt", encoding="utf-8").read().split("\n")[1 : 49152 - 256 - 2 + 1]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens = [*alphabet, *(c + "</w>" for c in alphabet), *("".join(m.split()) for m in merges)]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(dict.fromkeys(tokens))}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    reference = CLIPTokenizer.from_pretrained(str(tmp_path))
    ours = packaged_tokenizer()
    for text in PROMPTS:
        assert list(ours(text)) == reference.tokenize(text)


def test_syntax_is_read_the_way_a1111_reads_it():
    assert clip_text("(masterpiece:1.2), [blur], <lora:x:0.6> cat BREAK forest") == ["masterpiece , blur , cat", "forest"]
    assert clip_text("a [cat:tiger:0.5] in {red|green} grass") == ["a tiger in green grass"]
    assert count_tokens("(a cat:1.3)").chunks == count_tokens("a cat").chunks == (2,)


def test_long_prompts_fill_75_token_chunks_ending_at_a_comma():
    prompt = ", ".join(["highly detailed"] * 40)  # 119 tokens: a comma every third
    counted = count_tokens(prompt)
    assert counted.chunks == (75, 44) and counted.total == 119
    assert counted.label == "44/75 · chunk 2"
    words = " ".join(["cat"] * 80)  # no comma to end at: a plain cut
    assert count_tokens(words).chunks == (CHUNK, 5)


def test_break_starts_a_new_chunk_and_a_custom_tokenizer_is_used():
    assert count_tokens("a cat BREAK a dog\nBREAK").chunks == (2, 2, 0)
    assert count_tokens("a b c", tokenize=lambda text: text.split()).chunks == (3,)
    assert count_tokens("").chunks == (0,)
