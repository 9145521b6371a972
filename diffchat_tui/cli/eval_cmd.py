"""`diffchat eval`: models side by side on InstructPE test records (Markdown table, JSON, bar chart)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from diffchat_tui.core.errors import BadInput

PLAIN_EVERY = 50
"""Without a terminal (a log file), one progress line per this many edits."""

EXAMPLES = """
Examples:

  diffchat eval --model base --model embedded         # the README table: the pinned held-out set and the real-world set

  diffchat eval --data data/test.jsonl --model embedded --no-real   # your own split

  diffchat eval --data data/test.jsonl --model base --model base+runs/x/x-lora-f16.gguf --limit 100 -o runs/eval
"""


def evaluate(
    data: Annotated[
        Optional[Path],
        typer.Option("--data", help="InstructPE JSON/JSONL test file; default: the held-out set pinned in trainer/eval/.", dir_okay=False),
    ] = None,
    real: Annotated[
        Optional[Path],
        typer.Option("--real", help="Real-world cases (JSONL); default: the hand-written set shipped in trainer/eval/.", dir_okay=False),
    ] = None,
    no_real: Annotated[bool, typer.Option("--no-real", help="Leave the real-world set out.")] = False,
    rescore: Annotated[
        bool, typer.Option(
            "--rescore",
            help="Score the answers already in --output again with today's checks and today's core/ (no model runs).",
        )
    ] = False,
    models: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model",
            help="Model spec (base, embedded, a .gguf path, OWNER/REPO/FILE.gguf, or MODEL+ADAPTER.gguf). "
            "Repeat to compare: each is paired with the first on the same cases.",
        ),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="Folder for report.md, report.json, eval.png, predictions.", file_okay=False)
    ] = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Evaluate only N records, spread evenly over the file.")
    ] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help="llama.cpp threads (default: all cores).")] = None,
    image_model: Annotated[
        Optional[str], typer.Option("--image-model", help="Render every target and add the RL reward metrics (aesthetic, preference, CI).")
    ] = None,
    tiny_scorers: Annotated[
        Optional[str], typer.Option("--tiny-scorers", help="A tiny CLIP folder: random-weight scorers instead of the hub ones (trials).")
    ] = None,
) -> None:
    """Score each model's edits: instruction compliance, preservation of the rest, syntax kept and fluency, per kind.

    The builder's held-out records (phrasings and vocabulary kept out of training) and the hand-written
    real-world cases are reported apart from the rest. With no --data, the held-out set is the one the
    README table reports, pinned in trainer/eval/heldout.jsonl. The Markdown table goes to stdout; the
    files go to --output (default: eval-<data name>/).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from trainer.evaluate import eval_items, evaluate_records, markdown, rescored, resolve_spec, write_outputs
    from trainer.realworld import default_path, heldout_path

    specs = models or ["embedded"]
    if len(set(specs)) != len(specs):
        raise BadInput("each --model may be given once")
    data = data or heldout_path()
    records = eval_items(data, limit, None if no_real else (real or default_path()))
    out_dir = output or Path(f"eval-{data.stem}")
    if rescore:
        if not (out_dir / "report.json").is_file():
            raise BadInput(f"nothing to rescore: {out_dir} has no report.json (give the --output of an earlier eval)")
        report = rescored(str(data), records, out_dir)
        write_outputs(report, out_dir)
        sys.stdout.write(markdown(report))
        return
    for spec in specs:  # a missing model fails now, not after the others have run
        resolve_spec(spec)
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(spec: str, done: int, total: int) -> None:
            if spec not in tasks:
                tasks[spec] = bar.add_task(spec, total=total)
            bar.update(tasks[spec], completed=done)
            if not console.is_terminal and (done % PLAIN_EVERY == 0 or done == total):  # a log file still shows progress
                print(f"diffchat: {spec}: {done}/{total}", file=sys.stderr, flush=True)

        report = evaluate_records(str(data), records, specs, progress=progress, n_threads=threads)
    written = write_outputs(report, out_dir)
    sys.stdout.write(markdown(report))
    if image_model:  # the RL rewards need renders, so they run only when asked (trainer/rl/eval_rewards.py)
        from trainer.rl.eval_rewards import add_reward_metrics

        sys.stdout.write(add_reward_metrics(report, out_dir, image_model=image_model, tiny_scorers=tiny_scorers))
    print(f"diffchat: wrote {written['markdown']}, {written['json']}, {written['plot']}", file=sys.stderr)
