"""Off-policy sampling with action-space dynamic modification (ADM), through llama.cpp (docs/design.md §6).

For each request the current policy draws candidates in three action spaces made with logit_bias:
- plain: the policy as it is;
- positive: what the instruction asks for, the content to keep and quality modifiers boosted, what it
  takes away suppressed. (Boosting every instruction word would boost "seagulls" in "remove the
  seagulls", so the request's include/exclude/keep split decides the sign.)
- negative: hard negatives that ignore the instruction: what it asks for is suppressed and what it
  takes away is boosted; the "verbatim" flavour also favours every word of the current prompt, so the
  source comes back nearly unchanged.
An edit script turns the signs round for what goes: `- sunrise` and `~ sunrise -> day` must name it.
So for scripts the positive space boosts it gently instead of banning it (and leaves kept words alone:
code keeps them), and the negative space bans it, which leaves the script nothing to remove.
The dataset's reference target joins the pool as an anchor positive. Every request's candidates are
appended to a JSONL cache as soon as they exist, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from diffchat_tui.core.prompting import SCRIPT_FORMATS, PromptFormat, Turn, build_messages, format_for, stop_for
from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from trainer.data.vocab import load_vocab
from trainer.metrics import content_words
from trainer.rl.rewards import Request

SPACES = ("plain", "positive", "negative", "reference")
SAMPLER_VERSION = 2
"""Part of the cache identity: bumped when the action spaces change, so cached samples are drawn again."""


@dataclass
class SamplingConfig:
    k_plain: int = 2
    k_positive: int = 2
    k_negative: int = 2
    temperature: float = 0.8
    max_tokens: int = 64
    include_boost: float = 4.0
    """logit bias on the first token of each asked-for word in the positive space."""
    keep_boost: float = 1.5
    name_boost: float = 1.5
    """For edit scripts: the words a script must name to remove or replace them."""
    quality_boost: float = 1.0
    suppress: float = -100.0
    """Effectively bans a token: what the positive space takes away, and what the negative space ignores."""
    verbatim_boost: float = 4.0
    seed: int = 0
    quality_words: tuple[str, ...] = ()

    def identity(self) -> dict:
        return asdict(self)


@dataclass
class Candidate:
    text: str
    """The target prompt the answer leads to: what is scored."""
    space: str
    seed: int = -1
    raw: str = ""
    completion: str = ""
    """What the model said, as it is trained on: a script in the script layout, else the target."""


@dataclass
class Sampled:
    request: Request
    candidates: list[Candidate] = field(default_factory=list)


def default_quality_words() -> tuple[str, ...]:
    """The builder's quality modifiers (assets/vocab/quality.json), train pools only."""
    pools = load_vocab().words["quality"]
    return tuple(word for group in pools.values() for word in group.train)


class ActionSpaces:
    """logit_bias maps for one tokenizer; a word is steered through the first token of its common spellings.

    tokenize is llama.cpp's (off-policy sampling) or the HF tokenizer's (GRPO): SmolLM2's ids are the same.
    """

    def __init__(self, tokenize: Callable[[str], list[int]], config: SamplingConfig, *, scripts: bool = False) -> None:
        self.tokenize = tokenize
        self.config = config
        self.scripts = scripts
        """The policy answers with edit scripts, which name what they remove."""
        self._cache: dict[str, set[int]] = {}

    def word_tokens(self, word: str) -> set[int]:
        if word not in self._cache:
            ids = set()
            for variant in (f" {word}", word, f" {word.capitalize()}"):
                tokens = self.tokenize(variant)
                if tokens:
                    ids.add(int(tokens[0]))
            self._cache[word] = ids
        return self._cache[word]

    def _words(self, phrases: Iterable[str]) -> set[int]:
        return {token for phrase in phrases for word in content_words(phrase) for token in self.word_tokens(word)}

    def positive(self, request: Request) -> dict[int, float]:
        config, bias = self.config, {}
        for token in self._words(config.quality_words):
            bias[token] = config.quality_boost
        going = self._words(request.exclude) - self._words(request.include) - self._words(request.keep)
        if self.scripts:
            bias.update(dict.fromkeys(going, config.name_boost))
        else:
            bias.update(dict.fromkeys(self._words(request.keep), config.keep_boost))
        for token in self._words(request.include):
            bias[token] = config.include_boost
        if not self.scripts:
            for token in going:
                bias[token] = config.suppress
        return bias

    def plan(self, request: Request) -> list[tuple[str, dict[int, float]]]:
        """(space, logit bias) for each sample of one request: plain, then positive, then negative ones."""
        config = self.config
        plan = [("plain", {})] * config.k_plain + [("positive", self.positive(request))] * config.k_positive
        return plan + [("negative", self.negative(request, "ignore" if n % 2 == 0 else "verbatim")) for n in range(config.k_negative)]

    def negative(self, request: Request, flavour: str) -> dict[int, float]:
        config, bias = self.config, {}
        if flavour == "verbatim":
            for token in self._words([request.current]):
                bias[token] = config.verbatim_boost
        for token in self._words(request.exclude):  # keep what should have gone (a script that cannot name it keeps it)
            bias[token] = config.suppress if self.scripts else max(bias.get(token, 0.0), config.include_boost)
        kept = self._words([request.current]) | self._words(request.keep)
        for token in self._words(request.include) - kept:  # never ban a word the source itself uses
            bias[token] = config.suppress
        return bias


def draw(
    engine: LlamaCppEngine, request: Request, fmt: PromptFormat, config: SamplingConfig, space: str, seed: int, bias: dict[int, float]
) -> Candidate:
    """One candidate: the chat request inference sends, sampled under the given bias, read like inference."""
    messages = build_messages(request.source, request.instruction, request.history, fmt, request.negative)
    raw = engine.complete(
        messages, temperature=config.temperature, seed=seed, max_tokens=config.max_tokens, stop=stop_for(fmt),
        logit_bias=bias or None,
    )  # fmt: skip
    answer = request.answer(raw, fmt)
    completion = raw.strip() if fmt in SCRIPT_FORMATS else answer.target
    return Candidate(answer.target, space, seed, raw, completion)


def sample_request(
    engine: LlamaCppEngine, request: Request, fmt: PromptFormat, config: SamplingConfig, spaces: ActionSpaces
) -> list[Candidate]:
    """The candidate pool of one request: plain, positive and negative samples, then the reference."""
    out = []
    base_seed = (config.seed * 1_000_003 + int(request.key[:7], 16)) % 2**31  # per request, not per position in a file
    for offset, (space, bias) in enumerate(spaces.plan(request)):
        out.append(draw(engine, request, fmt, config, space, base_seed + offset, bias))
    if request.reference:
        completion = request.reference_script if fmt in SCRIPT_FORMATS else request.reference
        if completion:
            out.append(Candidate(request.reference, "reference", completion=completion))
    return out


def _request_json(request: Request) -> dict:
    data = asdict(request)
    data["history"] = [[turn.instruction, turn.target, turn.script, turn.negative] for turn in request.history]
    return data


def request_from_json(data: dict) -> Request:
    history = tuple(Turn(*turn) for turn in data.get("history", []))
    return Request(
        data["source"], data["instruction"], history, tuple(data.get("include", ())), tuple(data.get("exclude", ())),
        tuple(data.get("keep", ())), data.get("reference"), data.get("reference_script"), data.get("negative", ""),
    )  # fmt: skip


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a cache file; a last line cut short by a crash is ignored (it is redone)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def append_jsonl(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()


def sampler_identity(engine: LlamaCppEngine, config: SamplingConfig, fmt: str) -> str:
    """Which policy sampled, how: cached samples of another policy or setting are not reused."""
    files = [engine.model.path, engine.model.lora] if engine.model.lora else [engine.model.path]
    parts = [[(str(p), p.stat().st_size) for p in files], config.identity(), fmt, SAMPLER_VERSION]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


def sample_all(
    engine: LlamaCppEngine,
    requests: Sequence[Request],
    config: SamplingConfig,
    cache: Path,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[Sampled]:
    """Candidates for every request, from the cache where it has them; new ones are appended as they finish."""
    engine.load()
    fmt = format_for(engine.declared_format)
    identity = sampler_identity(engine, config, fmt)
    done = {row["key"]: row for row in read_jsonl(cache) if row.get("identity") == identity}
    spaces = ActionSpaces(engine.tokenize, config, scripts=fmt in SCRIPT_FORMATS)
    out = []
    for index, request in enumerate(requests):
        row = done.get(request.key)
        if row is None:
            candidates = sample_request(engine, request, fmt, config, spaces)
            row = {"key": request.key, "identity": identity, "request": _request_json(request),
                   "candidates": [asdict(candidate) for candidate in candidates]}  # fmt: skip
            append_jsonl(cache, row)
            done[request.key] = row
        out.append(Sampled(request, [Candidate(**candidate) for candidate in row["candidates"]]))
        progress(index + 1, len(requests))
    return out
