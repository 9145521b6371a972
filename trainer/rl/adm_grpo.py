"""GRPO with action-space dynamic modification: part of each group is drawn in the positive and negative spaces.

TRL's GRPOTrainer draws every completion of a group from the policy as it is. The paper's ADM widens the
group on purpose: positive-space samples (asked-for words boosted) bring more relevant candidates, and
negative-space samples (asked-for words suppressed, or the source favoured) bring hard negatives, so the
group's advantages contrast an edit done with one ignored. The biases are the off-policy sampler's
(sampling.ActionSpaces), applied per row as a logits processor while TRL generates; the loss is TRL's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trainer.rl.rewards import Request
from trainer.rl.sampling import ActionSpaces


def row_biases(spaces: ActionSpaces, requests: Sequence[Request], group: int) -> list[dict[int, float]]:
    """One bias map per generated row: rows come in groups of `group` per request, planned plain/positive/negative."""
    biases = []
    for request in requests:
        plan = [bias for _, bias in spaces.plan(request)]
        plan = (plan + [{}] * group)[:group]  # a group bigger than the plan samples the rest plainly
        biases += plan
    return biases


def make_processor(biases: Sequence[dict[int, float]]):
    """A transformers LogitsProcessor that adds each row's bias to its scores at every step."""
    import torch
    from transformers import LogitsProcessor

    class RowBias(LogitsProcessor):
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, input_ids, scores):
            self.calls += 1
            for row, bias in enumerate(biases[: scores.shape[0]]):
                if bias:
                    index = torch.tensor(list(bias), device=scores.device)
                    scores[row, index] += torch.tensor(list(bias.values()), device=scores.device, dtype=scores.dtype)
            return scores

    return RowBias()


def adm_trainer_class():
    """GRPOTrainer whose generation applies the ADM biases; built lazily so importing this needs no TRL."""
    from transformers import LogitsProcessorList
    from trl import GRPOTrainer

    class ADMGRPOTrainer(GRPOTrainer):
        """requests_by_prompt maps a prompt's token ids to its Request; spaces makes the biases."""

        def __init__(self, *args, requests_by_prompt: dict[tuple[int, ...], Request], spaces: ActionSpaces, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.requests_by_prompt, self.spaces = requests_by_prompt, spaces
            self.adm_rows = 0
            """Rows generated under a positive or negative bias so far (the tests look)."""

        def _generate_single_turn(self, prompt_ids, *args, **kwargs):
            group = self.num_generations
            firsts = [tuple(prompt_ids[i]) for i in range(0, len(prompt_ids), group)]
            requests = [self.requests_by_prompt.get(ids) for ids in firsts]
            if any(request is None for request in requests):
                return super()._generate_single_turn(prompt_ids, *args, **kwargs)
            biases = row_biases(self.spaces, requests, group)
            self.adm_rows += sum(1 for bias in biases if bias)
            mode = "train" if self.model.training else "eval"
            self._metrics[mode]["adm/biased_share"].append(sum(1 for bias in biases if bias) / len(biases))
            model = self.accelerator.unwrap_model(self.model)
            generate: Callable = model.generate

            def biased(*a, **k):
                processors = k.pop("logits_processor", None) or LogitsProcessorList()
                processors.append(make_processor(biases))
                return generate(*a, logits_processor=processors, **k)

            model.generate = biased
            try:
                return super()._generate_single_turn(prompt_ids, *args, **kwargs)
            finally:
                del model.generate  # back to the class's own

    return ADMGRPOTrainer
