"""What an RL run reports: per-action-space sample statistics, and the reward curves as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trainer.callbacks import HistoryPlot
from trainer.metrics import has_phrase
from trainer.plots import new_figure, save_figure

REWARD_PLOT = "rewards.png"


def summarize_pools(scored: Sequence, pairs: int) -> dict:
    """Mean raw terms, value and compliance per action space: is ADM giving better positives and harder negatives?"""
    spaces: dict[str, dict[str, list[float]]] = {}
    for item in scored:
        request = item.request
        for candidate in item.candidates:
            bucket = spaces.setdefault(candidate.space, {})
            asked = [has_phrase(candidate.text, p) for p in request.include] + [not has_phrase(candidate.text, p) for p in request.exclude]
            values = {"value": candidate.value, "gated": float(candidate.gated), "compliant": float(all(asked))}
            values.update({f"raw_{name}": value for name, value in candidate.terms.items()})
            for name, value in values.items():
                bucket.setdefault(name, []).append(value)
    table = {
        space: {"n": len(columns["value"]), **{name: round(sum(v) / len(v), 4) for name, v in columns.items()}}
        for space, columns in spaces.items()
    }
    return {"requests": len(scored), "pairs": pairs, "spaces": table}


class RewardPlot(HistoryPlot):
    """rewards.png in the run folder."""

    def __init__(self) -> None:
        super().__init__(plot_rewards, REWARD_PLOT)


def reward_series(history: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """Every logged reward mean (DPO's implicit rewards, GRPO's value and raw terms) against the step."""
    series: dict[str, list[tuple[int, float]]] = {}
    for entry in history:
        if "step" not in entry:
            continue
        for key, value in entry.items():
            wanted = key == "reward" or (key.startswith("rewards/") and not key.endswith("/std"))
            if wanted and not key.startswith("eval_") and isinstance(value, (int, float)) and value == value:
                series.setdefault(key.removesuffix("/mean"), []).append((entry["step"], float(value)))
    return series


def plot_rewards(history: list[dict], out: Path) -> Path | None:
    series = reward_series(history)
    if not series:
        return None
    figure, axes = new_figure()
    for name, points in sorted(series.items()):
        axes.plot(*zip(*points), marker="." if len(points) < 30 else None, label=name)
    axes.set_xlabel("step")
    axes.set_ylabel("reward")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return save_figure(figure, out)
