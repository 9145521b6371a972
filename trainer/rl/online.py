"""GRPO reward functions: the value V (CI-gated R) for advantages, and each raw term for the reward curves.

TRL sums weighted reward functions before it takes the group baseline, so the gate (a candidate
with C < τ drops to its group's lowest R) cannot be a weighted sum of separate functions. V is
therefore one function computed per request group, which TRL then turns into advantages (group
mean and std); the raw terms ride along with weight 0, so they are logged but do not steer.
With the gate off, each term is its own group-normalized function and TRL weights them.
"""

from __future__ import annotations

from collections.abc import Sequence

from trainer.rl.pairs import evaluate_pool
from trainer.rl.rewards import NOISE_FLOORS, Request, RewardModel, normalize, script_terms


def _text_of(completion) -> str:
    """A completion as TRL passes it: a list of chat messages, or plain text."""
    if isinstance(completion, list):
        return "".join(message.get("content") or "" for message in completion if message.get("role") == "assistant")
    return str(completion)


class GroupRewards:
    """Scores one generation batch once (memoized) and answers every reward function from it."""

    def __init__(self, model: RewardModel, requests: dict[str, Request], weights: dict, threshold: float) -> None:
        self.model, self.requests, self.weights, self.threshold = model, requests, weights, threshold
        self._last: tuple | None = None
        self._scored: list[dict] = []

    def _score(self, completions: Sequence, request_key: Sequence[str]) -> list[dict]:
        texts = [self._target(_text_of(c), self.requests[k]) for c, k in zip(completions, request_key)]
        marker = (tuple(texts), tuple(request_key))
        if marker == self._last:
            return self._scored
        rows: list[dict] = [{} for _ in texts]
        groups: dict[str, list[int]] = {}
        for index, key in enumerate(request_key):
            groups.setdefault(key, []).append(index)
        for key, members in groups.items():
            request = self.requests[key]
            terms = self.model.terms(request, [texts[i] for i in members])
            for row, i in zip(terms, members, strict=True):
                row.update(script_terms(request, _text_of(completions[i])))
            pool = evaluate_pool(request, [texts[i] for i in members], ["policy"] * len(members), terms, self.weights, self.threshold)
            for i, candidate in zip(members, pool.candidates):
                rows[i] = {"terms": candidate.terms, "value": candidate.value, "gated": candidate.gated, "group": members}
        self._last, self._scored = marker, rows
        return rows

    @staticmethod
    def _target(completion: str, request: Request) -> str:
        """The prompt a completion leads to, read exactly as inference reads it."""
        return request.answer(completion).target

    def value_function(self):
        def value(prompts=None, completions=(), request_key=(), log_metric=None, **kwargs) -> list[float]:
            rows = self._score(completions, request_key)
            if log_metric is not None and rows:
                log_metric("value/gated_share", sum(row["gated"] for row in rows) / len(rows))
            return [row["value"] for row in rows]

        value.__name__ = "value"
        return value

    def raw_term(self, name: str):
        """The term's raw value per completion (None where it is not measured): logged, weight 0."""

        def term(prompts=None, completions=(), request_key=(), **kwargs) -> list[float | None]:
            return [row["terms"].get(name) for row in self._score(completions, request_key)]

        term.__name__ = name
        return term

    def normalized_term(self, name: str):
        """The term normalized over each request group, for TRL's own weighted sum (gate off)."""

        def term(prompts=None, completions=(), request_key=(), **kwargs) -> list[float]:
            rows = self._score(completions, request_key)
            out = [0.0] * len(rows)
            seen: set[int] = set()
            for row in rows:
                members = row["group"]
                if members[0] in seen:
                    continue
                seen.add(members[0])
                values = [rows[i]["terms"].get(name, 0.0) for i in members]
                for i, value in zip(members, normalize(values, NOISE_FLOORS.get(name, 1e-6))):
                    out[i] = value
            return out

        term.__name__ = name
        return term

    def reward_functions(self, gate: bool) -> tuple[list, list[float]]:
        """(reward_funcs, reward_weights) for GRPOConfig/GRPOTrainer."""
        names = ["text", "integrity", "validity", "brevity"] + (["aesthetic", "preference"] if self.model.uses_images else [])
        if gate:
            return [self.value_function()] + [self.raw_term(n) for n in names], [1.0] + [0.0] * len(names)
        return [self.normalized_term(n) for n in names], [float(self.weights.get(n, 0.0)) for n in names]
