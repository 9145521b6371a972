"""`diffchat eval` with image models: the RL reward metrics next to the text metrics, model by model.

Every model's target is rendered with the same seed as its record's source render, then scored:
aesthetic (LAION head), preference (PickScore against the user's intent) and content integrity (CLIP
image-image cosine with the source render). The source renders are shared across models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from trainer.rl.rewards import Request, RewardModel, build_reward_model

METRICS = ("aesthetic", "preference", "image_cosine", "integrity")


def reward_summary(report, model: RewardModel, threshold: float, progress: Callable[[str, int, int], None] = lambda *a: None) -> dict:
    """{model: {split: {metric: mean, 'ci_pass': share with integrity ≥ τ, 'n': count}}}."""
    requests = [Request(item.source, item.instruction, tuple(item.history), reference=item.reference, negative=item.negative)
                for item in report.records]  # fmt: skip
    out: dict[str, dict[str, dict]] = {}
    for result in report.results:
        per_split: dict[str, dict[str, list[float]]] = {}
        for index, row in enumerate(result.predictions):
            terms = model.terms(requests[index], [row["target"]])[0]
            bucket = per_split.setdefault(report.split_of(index), {})
            for name in METRICS:
                if name in terms:
                    bucket.setdefault(name, []).append(terms[name])
            bucket.setdefault("ci_pass", []).append(float(terms.get("integrity", 1.0) >= threshold))
            progress(result.name, index + 1, len(result.predictions))
        out[result.name] = {
            split: {"n": len(columns["ci_pass"]), **{name: round(sum(v) / len(v), 4) for name, v in columns.items()}}
            for split, columns in per_split.items()
        }
    return out


def markdown(summary: dict, image_model: str) -> str:
    header = ["model", "split", "n", *METRICS, "ci_pass %"]
    lines = ["", f"Reward metrics (images from `{image_model}`, one seed per record):", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, splits in summary.items():
        for split, row in splits.items():
            cells = [name, split, str(row["n"]), *(f"{row[m]:.4f}" if m in row else "–" for m in METRICS), f"{100 * row['ci_pass']:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def add_reward_metrics(report, out_dir: Path, *, image_model: str, threshold: float = 0.6, progress=lambda *a: None, **scorers) -> str:
    """Score the report's predictions with image rewards; appends to report.md, writes rewards.json, returns the table."""
    model = build_reward_model(image_model=image_model, **scorers)
    summary = reward_summary(report, model, threshold, progress)
    table = markdown(summary, image_model)
    (out_dir / "rewards.json").write_text(json.dumps({"image_model": image_model, "ci_threshold": threshold, "summary": summary}, indent=2) + "\n")
    with (out_dir / "report.md").open("a", encoding="utf-8") as handle:
        handle.write(table)
    return table
