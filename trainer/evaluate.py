"""Evaluate models side by side: per-kind metrics, Markdown, JSON and a bar chart.

Each model runs through the same Editor as `diffchat edit` (same prompt format choice, same
reading of its answer), so the numbers describe what a user gets. Three splits are reported
apart: the builder's records seen in training style, its held-out records (phrasings and
vocabulary never seen in training), and the hand-written real-world set (trainer/realworld.py),
whose cases run every earlier instruction through the model itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from diffchat_tui.core.errors import BadInput, DiffchatError
from diffchat_tui.core.prompting import Turn, format_for, read_answer
from trainer.metrics import EditScore, bootstrap_ci, score_record, summarize

SPLITS = ("seen", "held-out", "real-world")
ALL = "all"
TABLE_METRICS = (("passed", "passed"), ("compliant", "compliant"), ("preservation", "preserved"), ("fluent", "fluent"))
OVERALL_METRICS = (
    "passed", "compliant", "compliance", "preservation", "syntax_kept", "fluent", "echoed", "repetitive", "empty",
)  # fmt: skip


@dataclass
class Item:
    """One thing to edit and how to score the result: an InstructPE record or a real-world case."""

    split: str
    category: str
    source: str
    instruction: str
    score: Callable[[str, str], EditScore]
    """(target, negative prompt) -> score."""
    history: list[Turn] = field(default_factory=list)
    """Earlier turns as the record gives them (the model is shown them)."""
    run_first: list[str] = field(default_factory=list)
    """Earlier instructions the model answers itself before the last one (real-world cases)."""
    reference: str | None = None
    negative: str = ""
    """The negative prompt the source came with."""

    @classmethod
    def of_record(cls, record) -> Item:
        from trainer.data.sft_format import conversation

        source, negative, turns, _ = conversation(record)
        split = "held-out" if record.heldout else "seen"
        return cls(split, record.category or "(none)", source, record.instruction, lambda target, neg="": score_record(target, record, neg),
                   turns, reference=record.beautified_target_prompt, negative=negative)  # fmt: skip

    @classmethod
    def of_case(cls, case) -> Item:
        return cls("real-world", case.kind, case.source, case.instruction, case.score, run_first=list(case.history), negative=case.negative)


@dataclass
class ModelResult:
    name: str
    prompt_format: str = ""
    seconds: float = 0.0
    load_s: float = 0.0
    predictions: list[dict] = field(default_factory=list)
    scores: list[EditScore] = field(default_factory=list)


@dataclass
class Report:
    data: str
    records: list[Item]
    results: list[ModelResult]

    def split_of(self, index: int) -> str:
        return self.records[index].split

    def summary(self) -> dict[str, dict[str, dict[str, dict]]]:
        """{model: {split: {category or 'all': metrics}}}; splits with no records are left out."""
        out: dict[str, dict[str, dict[str, dict]]] = {}
        for result in self.results:
            per_split: dict[str, dict[str, dict]] = {}
            for split in SPLITS:
                members = [i for i in range(len(self.records)) if self.split_of(i) == split]
                if not members:
                    continue
                groups: dict[str, list[EditScore]] = {ALL: [result.scores[i] for i in members]}
                for i in members:
                    groups.setdefault(self.records[i].category, []).append(result.scores[i])
                per_split[split] = {name: summarize(groups[name]) for name in [ALL, *sorted(k for k in groups if k != ALL)]}
            out[result.name] = per_split
        return out

    def paired(self) -> dict[str, dict[str, dict]]:
        """{model: {split: passed difference}} for every model after the first, on the same cases.

        Resampling the cases, not each model's results apart, keeps what both find hard together: two shares'
        overlapping intervals can hide a real gain, and the interval of their paired difference does not.
        """
        first, out = self.results[0], {}
        for result in self.results[1:]:
            per_split = {}
            for split in SPLITS:
                pairs = [(first.scores[i].passed, result.scores[i].passed) for i in range(len(self.records)) if self.split_of(i) == split]
                if not pairs:
                    continue
                differences = [float(after) - float(before) for before, after in pairs]
                per_split[split] = {
                    "n": len(pairs),
                    "passed_delta": round(sum(differences) / len(pairs), 4),
                    "passed_delta_ci": bootstrap_ci(differences),
                    "gained": sum(not before and after for before, after in pairs),
                    "lost": sum(before and not after for before, after in pairs),
                }
            out[result.name] = per_split
        return out


def load_eval_records(path: Path, limit: int | None = None) -> list:
    """Every record of a test file (a bad row stops with its line number); limit keeps every k-th for balance."""
    from trainer.data.io import load_records

    if not path.is_file():
        raise BadInput(f"data file not found: {path}")
    loaded = load_records(path)
    if loaded.errors:
        more = f" (and {len(loaded.errors) - 1} more bad rows)" if len(loaded.errors) > 1 else ""
        raise BadInput(f"{loaded.errors[0].located(str(path))}{more}")
    records = loaded.records
    if not records:
        raise BadInput(f"{path} has no records")
    if limit and limit < len(records):
        step = len(records) / limit
        records = [records[int(i * step)] for i in range(limit)]
    return records


def resolve_spec(spec: str):
    """A model spec as `resolve_llm` takes it, or MODEL+ADAPTER.gguf to try an adapter before shipping it."""
    from diffchat_tui.engines.models import resolve_llm

    model, plus, adapter = spec.rpartition("+")
    if plus and model and adapter.endswith(".gguf") and not Path(spec).exists():
        return resolve_llm(model, lora=adapter)
    return resolve_llm(spec)


def run_model(spec: str, items: Sequence[Item], progress: Callable[[int], None] = lambda done: None, n_threads: int | None = None) -> ModelResult:
    """Edit every item with one model (greedy); an edit with no usable answer scores as an empty prompt."""
    from diffchat_tui.engines.editor import Editor
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(resolve_spec(spec), n_threads=n_threads)
    editor = Editor(engine)
    result = ModelResult(name=spec)
    started = time.perf_counter()
    editor.load()  # a model that cannot load fails here, once, not as an empty answer per item
    for index, item in enumerate(items):
        try:
            history = list(item.history)
            for instruction in item.run_first:
                history.append(editor.edit(item.source, instruction, history, negative=item.negative).turn)
            edited = editor.edit(item.source, item.instruction, history, negative=item.negative)
            target, raw, script, negative = edited.target, edited.raw, edited.script, edited.negative
            result.load_s += edited.timings.load_s
        except DiffchatError as exc:
            target, raw, script, negative = "", f"error: {exc}", "", ""
        score = item.score(target, negative)
        result.scores.append(score)
        result.predictions.append(
            {"index": index, "split": item.split, "category": item.category, "source": item.source,
             "history": [turn.instruction for turn in item.history] + item.run_first, "instruction": item.instruction,
             "target": target, "negative": negative, "script": script, "raw": raw, "reference": item.reference, "score": score.as_dict()}  # fmt: skip
        )
        progress(index + 1)
    result.seconds = time.perf_counter() - started
    result.prompt_format = editor.prompt_format
    return result


def evaluate(data: Path | None, specs: Sequence[str], limit: int | None = None, progress=None, n_threads: int | None = None,
             real: Path | None = None) -> Report:  # fmt: skip
    """Run every model over the same items. progress(model, done, total) is called as edits finish."""
    return evaluate_records(str(data), eval_items(data, limit, real), specs, progress, n_threads)


def eval_items(data: Path | None, limit: int | None, real: Path | None) -> list[Item]:
    """The builder's test records (when data is given) and then the real-world cases (when real is given)."""
    from trainer.realworld import load_cases

    items = [Item.of_record(record) for record in load_eval_records(data, limit)] if data else []
    return items + ([Item.of_case(case) for case in load_cases(real)] if real else [])


def rescored(data: str, items: Sequence[Item], out_dir: Path) -> Report:
    """A report from the predictions an earlier run wrote to out_dir, scored again with today's checks and metrics,
    each stored answer read again by today's `core/` (a script applied anew, a whole prompt cleaned anew).

    The models do not run again: after a metric, a check or the code that applies scripts is mended, the numbers
    follow in seconds. Earlier turns a model ran itself (real-world conversations) keep what it made of them.
    """
    document = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    results = []
    for model in document["models"]:
        path = out_dir / f"predictions-{_safe(model['name'])}.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if len(rows) != len(items) or any(row["instruction"] != item.instruction for row, item in zip(rows, items, strict=True)):
            raise BadInput(f"{path} does not hold the predictions for these records (another --data, --limit or --real?)")
        result = ModelResult(model["name"], model.get("prompt_format", ""), model.get("seconds", 0.0), model.get("load_s", 0.0))
        for row, item in zip(rows, items, strict=True):
            if result.prompt_format and not item.run_first and not row["raw"].startswith("error:"):
                row = {**row, **_read_again(row["raw"], item, result.prompt_format)}
            score = item.score(row["target"], row.get("negative", ""))
            result.predictions.append({**row, "score": score.as_dict()})
            result.scores.append(score)
        results.append(result)
    return Report(data, list(items), results)


def _read_again(raw: str, item: Item, fmt: str) -> dict[str, str]:
    """A stored answer read by today's core/, as the editor reads it (beautify on, the default)."""
    last = item.history[-1] if item.history else None
    current, negative = (last.target, last.negative) if last else (item.source, item.negative)
    answer = read_answer(raw, current, format_for(fmt), item.instruction, negative=negative)
    return {"target": answer.target, "negative": answer.negative, "script": answer.script}


def evaluate_records(data: str, items: Sequence[Item], specs: Sequence[str], progress=None, n_threads: int | None = None) -> Report:
    results = []
    for spec in dict.fromkeys(specs):
        callback = (lambda done, spec=spec: progress(spec, done, len(items))) if progress else (lambda done: None)
        results.append(run_model(spec, items, callback, n_threads))
    return Report(data, list(items), results)


def _pct(value, interval=None) -> str:
    if value is None:
        return "–"
    shown = f"{100 * value:.1f}"
    return f"{shown} [{100 * interval[0]:.1f}–{100 * interval[1]:.1f}]" if interval else shown


def markdown(report: Report) -> str:
    """The overall table (per split), then per-category compliant / preserved / fluent for each model."""
    summary = report.summary()
    names = [result.name for result in report.results]
    lines = [f"Evaluation on `{report.data}` ({len(report.records)} records). Shares in %, [bootstrap 95 % interval].", ""]
    header = ["model", "split", "n", *OVERALL_METRICS, "s/edit"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in report.results:
        per_edit = result.seconds / max(len(report.records), 1)
        for split, groups in summary[result.name].items():
            row = groups[ALL]
            cells = [result.name, split, str(row["n"]), *(_pct(row[key], row.get(f"{key}_ci")) for key in OVERALL_METRICS),
                     f"{per_edit:.2f}"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    if len(report.results) > 1:
        lines += ["", f"Paired against `{names[0]}` on the same cases: passed, difference in points [paired bootstrap 95 % "
                      "interval], and the cases that went from fail to pass (gained) and from pass to fail (lost).", ""]  # fmt: skip
        lines += ["| model | split | n | passed difference | gained | lost |", "|---|---|---|---|---|---|"]
        for name, per_split in report.paired().items():
            for split, row in per_split.items():
                low, high = row["passed_delta_ci"]
                shown = f"{100 * row['passed_delta']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
                lines.append(f"| {name} | {split} | {row['n']} | {shown} | {row['gained']} | {row['lost']} |")
    for split in SPLITS:
        categories = {category for name in names for category in summary[name].get(split, {})}
        if not categories:
            continue
        lines += ["", f"**{split}**: compliant / preserved / fluent per category", ""]
        header = ["category", "n"] + [f"{name} {label}" for name in names for _, label in TABLE_METRICS]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for category in [ALL, *sorted(categories - {ALL})]:
            n = summary[names[0]][split][category]["n"]
            cells = [category, str(n)]
            for name in names:
                row = summary[name][split][category]
                cells += [_pct(row[key]) for key, _ in TABLE_METRICS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(report: Report, out: Path) -> Path:
    """Grouped bars: compliant, preserved and fluent for each model, one panel per split."""
    from trainer.plots import new_figure, save_figure

    summary = report.summary()
    splits = [split for split in SPLITS if any(split in summary[r.name] for r in report.results)]
    figure, axes = new_figure(nrows=1, ncols=len(splits), figsize=(5 * len(splits), 4), squeeze=False)
    width = 0.8 / len(report.results)
    for axis, split in zip(axes[0], splits):
        for offset, result in enumerate(report.results):
            row = summary[result.name][split][ALL]
            values = [100 * (row[key] or 0) for key, _ in TABLE_METRICS]
            positions = [i + offset * width for i in range(len(TABLE_METRICS))]
            axis.bar(positions, values, width, label=result.name)
        axis.set_xticks([i + width * (len(report.results) - 1) / 2 for i in range(len(TABLE_METRICS))])
        axis.set_xticklabels([label for _, label in TABLE_METRICS])
        axis.set_ylim(0, 100)
        axis.set_ylabel("%")
        axis.set_title(f"{split} (n={summary[report.results[0].name][split][ALL]['n']})")
        axis.grid(axis="y", alpha=0.3)
        axis.legend()
    return save_figure(figure, out)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(name).name or name)


def write_outputs(report: Report, out_dir: Path) -> dict[str, Path]:
    """report.md, report.json, eval.png and one predictions JSONL per model."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"markdown": out_dir / "report.md", "json": out_dir / "report.json", "plot": out_dir / "eval.png"}
    written["markdown"].write_text(markdown(report), encoding="utf-8")
    document = {
        "data": report.data,
        "records": len(report.records),
        "models": [
            {"name": r.name, "prompt_format": r.prompt_format, "seconds": round(r.seconds, 2), "load_s": round(r.load_s, 3)}
            for r in report.results
        ],
        "summary": report.summary(),
        "paired": report.paired(),
    }
    written["json"].write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(report, written["plot"])
    for result in report.results:
        path = out_dir / f"predictions-{_safe(result.name)}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for row in result.predictions:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        written[f"predictions:{result.name}"] = path
    return written
