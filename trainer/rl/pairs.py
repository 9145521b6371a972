"""The value estimate with content integrity, DPO pairs from it, and pairs from the user's own choices.

V = R when a candidate's content integrity C ≥ τ, else the request's minimum R: a prompt that wrecks
the content is never chosen, however well its other terms score. DPO pairs are best V against worst
V with a margin of at least δ (in the per-request normalized units of rewards.combine).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from diffchat_tui.core.edit_script import format_script
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import TRAINED_FORMAT, Turn, build_messages
from diffchat_tui.core.script_diff import script_from_pair
from trainer.rl.rewards import NOISE_FLOORS, Request, RewardModel, combine, script_terms
from trainer.rl.sampling import Sampled, append_jsonl, read_jsonl


@dataclass
class ScoredCandidate:
    text: str
    """The target prompt (what was scored)."""
    space: str
    terms: dict[str, float]
    reward: float = 0.0
    integrity: float = 1.0
    value: float = 0.0
    gated: bool = False
    completion: str = ""
    """What the model said (the script): what DPO trains on."""


@dataclass
class Scored:
    request: Request
    candidates: list[ScoredCandidate] = field(default_factory=list)


def gate(rewards: Sequence[float], integrity: Sequence[float], threshold: float) -> tuple[list[float], list[bool]]:
    """(V, gated) per candidate: V = R where C ≥ τ, else the lowest R of the request."""
    if not rewards:
        return [], []
    floor = min(rewards)
    gated = [c < threshold for c in integrity]
    return [floor if shut else reward for reward, shut in zip(rewards, gated)], gated


def evaluate_pool(request: Request, texts: Sequence[str], spaces: Sequence[str], terms: Sequence[dict], weights: dict, threshold: float,
                  floors: dict = NOISE_FLOORS, completions: Sequence[str] = ()) -> Scored:  # fmt: skip
    """R, C and V for one request's candidates from their raw term values."""
    rewards = combine(terms, weights, floors)
    integrity = [row.get("integrity", 1.0) for row in terms]
    values, gated = gate(rewards, integrity, threshold)
    said = list(completions) or list(texts)
    candidates = [
        ScoredCandidate(text, space, dict(row), r, c, v, g, completion)
        for text, space, row, r, c, v, g, completion in zip(texts, spaces, terms, rewards, integrity, values, gated, said)
    ]
    return Scored(request, candidates)


def score_all(
    sampled: Sequence[Sampled],
    model: RewardModel,
    weights: dict,
    threshold: float,
    cache: Path,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[Scored]:
    """Score every pool; raw term values are cached per request (V is recomputed, so weights and τ may change)."""
    identity = model.identity()
    done = {(row["key"], tuple(row["texts"])): row["terms"] for row in read_jsonl(cache) if row.get("identity") == identity}
    out = []
    for index, pool in enumerate(sampled):
        texts = [candidate.text for candidate in pool.candidates]
        terms = done.get((pool.request.key, tuple(texts)))
        if terms is None:
            terms = model.terms(pool.request, texts)
            append_jsonl(cache, {"key": pool.request.key, "identity": identity, "texts": texts, "terms": terms})
        spaces = [candidate.space for candidate in pool.candidates]
        completions = [candidate.completion or candidate.text for candidate in pool.candidates]
        terms = [{**row, **script_terms(pool.request, completion)} for row, completion in zip(terms, completions, strict=True)]
        out.append(evaluate_pool(pool.request, texts, spaces, terms, weights, threshold, completions=completions))
        progress(index + 1, len(sampled))
    return out


def best_and_worst(scored: Scored, margin: float) -> tuple[ScoredCandidate, ScoredCandidate] | None:
    """The pair a request gives DPO, or None when nothing beats anything by the margin."""
    usable = [c for c in scored.candidates if c.text and not c.gated]
    if not usable or len(scored.candidates) < 2:
        return None
    # On a tie the policy's own sample is chosen over the reference anchor: on-policy pairs teach DPO more.
    best = max(usable, key=lambda c: (c.value, c.space != "reference"))
    # Ties at the bottom go to gated candidates first: they are the hard negatives that wrecked the content.
    worst = min((c for c in scored.candidates if c is not best), key=lambda c: (c.value, not c.gated, c.reward))
    if best.value - worst.value < margin or (best.completion or best.text) == (worst.completion or worst.text):
        return None
    return best, worst


def dpo_row(request: Request, chosen: str, rejected: str) -> dict:
    """A TRL conversational preference row, its prompt built exactly as inference builds it; chosen/rejected are what the model says."""
    return {
        "prompt": build_messages(request.source, request.instruction, request.history, TRAINED_FORMAT, request.negative),
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


def dpo_pairs(scored: Sequence[Scored], margin: float) -> tuple[list[dict], list[dict]]:
    """(TRL rows, a description of each pair for the run folder)."""
    rows, notes = [], []
    for item in scored:
        pair = best_and_worst(item, margin)
        if pair is None:
            continue
        best, worst = pair
        rows.append(dpo_row(item.request, best.completion, worst.completion))
        notes.append({
            "key": item.request.key, "instruction": item.request.instruction, "source": item.request.current,
            "chosen": best.text, "chosen_space": best.space, "chosen_value": round(best.value, 4),
            "rejected": worst.text, "rejected_space": worst.space, "rejected_value": round(worst.value, 4),
            "rejected_gated": worst.gated,
        })  # fmt: skip
    return rows, notes


def preference_rows(pairs: Sequence[dict]) -> list[dict]:
    """SessionStore.preference_pairs (the TUI's kept vs passed-over candidates) as DPO rows."""
    rows = []
    for pair in pairs:
        history = tuple(Turn(**turn) for turn in pair["history"])
        request = Request(pair["source"], pair["instruction"], history, negative=pair.get("negative", ""))
        current = history[-1].target if history else pair["source"]
        chosen = pair.get("chosen_script") or format_script(script_from_pair(current, pair["chosen"]))
        rejected = pair.get("rejected_script") or format_script(script_from_pair(current, pair["rejected"]))
        row = dpo_row(request, chosen, rejected)
        row["session"] = pair["session"]
        rows.append(row)
    return rows


def load_preference_file(path: Path) -> list[dict] | None:
    """DPO rows from a JSONL of prompt/chosen/rejected rows (`diffchat data prefs`), or None if it is not one."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if number == 1:
                    return None  # a JSON-list InstructPE file, say: not ours to judge
                raise BadInput(f"{path}:{number}: not valid JSON") from None
            if not isinstance(row, dict) or not {"chosen", "rejected"} <= set(row):
                if number == 1:
                    return None
                raise BadInput(f"{path}:{number}: a preference row needs prompt, chosen and rejected")
            if not isinstance(row.get("prompt"), list) or not all(isinstance(row[k], list) and row[k] for k in ("chosen", "rejected")):
                raise BadInput(f"{path}:{number}: prompt, chosen and rejected must be lists of chat messages")
            rows.append({key: row[key] for key in ("prompt", "chosen", "rejected")})
    return rows
