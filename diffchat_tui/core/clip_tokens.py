"""How many CLIP tokens a prompt is, chunk by chunk, the way Stable Diffusion 1.x/2.x front-ends read it.

The text encoder sees 77 tokens: a start token, 75 of the prompt, an end token. A1111 (and
ComfyUI, Forge) encode longer prompts as 75-token chunks, ending a chunk early at a comma in
its last 20 tokens, and `BREAK` starts a new chunk. Words past a boundary land in another
chunk and weigh differently, so users want to see where the boundary is.

The count uses CLIP's own byte-pair encoding: the loaded pipeline's tokenizer when there is one
(pass its `tokenize`), otherwise the copy of CLIP's merges list that open_clip distributes
(assets/clip/, MIT licence), read with the `tokenizers` library. A1111 syntax is read the way
A1111 reads it: emphasis brackets and weights are not tokens, <lora:...> tags are removed, and
for prompt editing and alternation the longest variant counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from diffchat_tui.core.prompt_syntax import parse

CHUNK = 75
COMMA_BACKTRACK = 20
"""A1111's default: a chunk ends at a comma within this many tokens of the boundary."""
Tokenize = Callable[[str], Sequence[str]]
"""Text -> token strings (a comma is ","; CLIP writes it ",</w>")."""


@dataclass(frozen=True)
class TokenCount:
    chunks: tuple[int, ...]
    """Tokens in each chunk, in order (a chunk holds at most 75)."""

    @property
    def total(self) -> int:
        return sum(self.chunks)

    @property
    def label(self) -> str:
        """What a meter shows: the last chunk's fill and its number, `63/75 · chunk 1`."""
        return f"{self.chunks[-1]}/{CHUNK} · chunk {len(self.chunks)}"

    def as_json(self) -> dict:
        return {"total": self.total, "chunks": list(self.chunks), "chunk_size": CHUNK}


def clip_text(prompt: str) -> list[str]:
    """The prompt as CLIP gets it, split where BREAK (or AND) starts a new chunk."""
    parsed = parse(prompt)
    segments, current = [], []
    for unit in parsed.units:
        text = parsed.unit_text(unit)
        if unit.kind == "keyword":
            segments.append("".join(current))
            current = []
        elif unit.kind in ("open", "close"):
            current.append(" ")
        elif unit.kind == "atom":
            current.append(_atom_text(text))
        else:
            current.append(text)
    segments.append("".join(current))
    return [" ".join(segment.split()) for segment in segments]


def _atom_text(atom: str) -> str:
    if atom.startswith("<"):
        return ""  # extra networks are taken out of the prompt before encoding
    if atom.startswith("\\"):
        return atom[1:]
    if atom[:1] in "[{":
        inner = atom[1:-1]
        options = re.split(r"\|", inner) if "|" in inner else inner.split(":")[:-1] or [inner]
        options = [re.sub(r"^\d+\$\$", "", option) for option in options]
        return " ".join(clip_text(max(options, key=len)))
    return atom


def count_tokens(prompt: str, tokenize: Tokenize | None = None) -> TokenCount:
    """Tokens per 75-token chunk, with A1111's comma backtracking and BREAK."""
    tokenize = tokenize or packaged_tokenizer()
    chunks: list[int] = []
    for segment in clip_text(prompt):
        tokens = list(tokenize(segment)) if segment else []
        chunks += _chunked(tokens) if tokens else ([0] if not chunks or segment == "" else [])
    return TokenCount(tuple(chunks or [0]))


def _chunked(tokens: list[str]) -> list[int]:
    sizes, start = [], 0
    while len(tokens) - start > CHUNK:
        end = start + CHUNK
        commas = [i for i in range(end - COMMA_BACKTRACK, end) if tokens[i].startswith(",")]
        cut = commas[-1] + 1 if commas else end
        sizes.append(cut - start)
        start = cut
    sizes.append(len(tokens) - start)
    return sizes


def vocab_file() -> Path:
    from diffchat_tui import paths

    return paths.package_assets_dir() / "clip" / "bpe_simple_vocab_16e6.txt.gz"


@cache
def packaged_tokenizer() -> Tokenize:
    """CLIP's BPE from the packaged merges list: lower-cased, CLIP's pre-tokenizer pattern, `</w>` word ends.

    Built once (about 0.1 s) and kept as a tokenizer.json in the cache dir, which loads in half the time.
    """
    import os

    from tokenizers import Tokenizer

    from diffchat_tui import paths

    source = vocab_file()
    cached = paths.cache_dir() / "clip" / f"tokenizer-{source.stat().st_size}-{source.stat().st_mtime_ns}.json"
    try:
        tokenizer = Tokenizer.from_file(str(cached))
    except Exception:  # noqa: BLE001 - absent or unreadable: build it again
        tokenizer = _build_tokenizer(source)
        try:  # a cache that cannot be written only costs the next process the build
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
            tokenizer.save(str(partial))
            partial.replace(cached)
        except Exception:  # noqa: BLE001 - tokenizers raises a bare Exception on a full disk
            pass
    return lambda text: tokenizer.encode(text, add_special_tokens=False).tokens


def _build_tokenizer(source: Path):
    import gzip

    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    lines = gzip.open(source, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]  # the size CLIP's tokenizer uses
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tokens = [*alphabet, *(char + "</w>" for char in alphabet), *("".join(pair) for pair in merges)]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>"))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    pattern = Regex(r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+")
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(pattern, behavior="removed", invert=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    return tokenizer
