"""`diffchat data`: build, check, summarize and split InstructPE training data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from diffchat_tui.cli.output import warn
from diffchat_tui.core.errors import BadInput

if TYPE_CHECKING:
    from rich.console import Console

    from diffchat_tui.engines.llm import LLMEngine
    from trainer.data.builder import Draft
    from trainer.data.io import Loaded
    from trainer.data.teacher import TeacherReport
    from trainer.data.tools import Stats

DataFile = Annotated[Path, typer.Argument(help="A JSON-list or JSONL file of InstructPE records.", dir_okay=False)]
MAX_LISTED = 20
"""Duplicates listed one by one before the rest are only counted."""


def _load(path: Path) -> Loaded:
    from trainer.data.io import load_records

    loaded = load_records(path)
    if loaded.rows == 0:
        raise BadInput(f"{path} has no records")
    return loaded


def validate(file: DataFile) -> None:
    """Check every row; print each bad one as FILE:LINE: reason, and exit 2 if there are any."""
    loaded = _load(file)
    for error in loaded.errors:
        print(error.located(str(file)), file=sys.stderr)
    print(f"{file}: {len(loaded.records)} good, {len(loaded.errors)} bad of {loaded.rows} rows ({loaded.form})")
    if loaded.errors:
        raise typer.Exit(2)


def stats(
    file: DataFile,
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as one JSON object.")] = False,
) -> None:
    """Records per category, held-out and multi-turn shares, and prompt lengths in words."""
    import json

    from trainer.data.tools import stats as summarize

    loaded = _load(file)
    if loaded.errors:
        warn(f"{file}: {len(loaded.errors)} bad rows left out of the numbers (see 'diffchat data validate')")
    summary = summarize(loaded.records)
    if as_json:
        print(json.dumps(summary.to_json()))
        return
    _print_stats(str(file), summary)


def _print_stats(name: str, summary: Stats) -> None:
    from rich.console import Console
    from rich.table import Table

    def share(part: int, whole: int) -> str:
        return f"{100 * part / whole:.1f}%" if whole else "-"

    table = Table(title=f"{name}: {summary.total} records")
    for column in ("category", "records", "share", "held out", "multi-turn"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, counts in summary.categories.items():
        table.add_row(
            category, str(counts.records), share(counts.records, summary.total), str(counts.heldout), str(counts.multi_turn)
        )
    table.add_section()
    table.add_row("all", str(summary.total), "100%", share(summary.heldout, summary.total), share(summary.multi_turn, summary.total))

    lengths = Table(title="length in words")
    for column in ("field", "min", "mean", "median", "max"):
        lengths.add_column(column, justify="left" if column == "field" else "right")
    for label, value in (
        ("source_prompt", summary.source_words),
        ("instruction", summary.instruction_words),
        ("beautified_target_prompt", summary.target_words),
    ):
        lengths.add_row(label, str(value.minimum), f"{value.mean:.1f}", f"{value.median:g}", str(value.maximum))
    console = Console()
    console.print(table)
    console.print(lengths)
    console.print(f"records with checks: {summary.with_checks}")


def split(
    file: DataFile,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for train.jsonl and test.jsonl.", file_okay=False)],
    test_frac: Annotated[
        float, typer.Option("--test-frac", min=0.0, max=0.9, help="Share of the non-held-out records for test.")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same split.")] = 0,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Leave bad rows out (each is reported) instead of stopping.")] = False,
    keep_duplicates: Annotated[bool, typer.Option("--keep-duplicates", help="Do not drop repeated examples.")] = False,
) -> None:
    """Deduplicate, then split into DIR/train.jsonl and DIR/test.jsonl; held-out records always go to test."""
    from trainer.data.io import write_jsonl
    from trainer.data.tools import deduplicate
    from trainer.data.tools import split as split_records

    loaded = _load(file)
    if loaded.errors:
        for error in loaded.errors:
            print(error.located(str(file)), file=sys.stderr)
        if not skip_bad:
            raise BadInput(f"{file} has {len(loaded.errors)} bad rows; fix them or pass --skip-bad")
        warn(f"left out {len(loaded.errors)} bad rows")
    records = loaded.records
    if not keep_duplicates:
        result = deduplicate(records)
        for dropped, first in result.duplicates[:MAX_LISTED]:
            warn(f"{file}:{loaded.lines[dropped]}: duplicate of line {loaded.lines[first]}, dropped")
        if len(result.duplicates) > MAX_LISTED:
            warn(f"... and {len(result.duplicates) - MAX_LISTED} more duplicates dropped")
        records = result.records
    parts = split_records(records, test_frac, seed)
    for name, part in (("train", parts.train), ("test", parts.test)):
        path = output / f"{name}.jsonl"
        try:
            write_jsonl(path, part)
        except OSError as exc:
            raise BadInput(f"cannot write {path}: {exc.strerror}") from None
        heldout = sum(record.heldout for record in part)
        print(f"{path}: {len(part)} records" + (f" ({heldout} held out)" if heldout else ""))


def calibration(
    file: DataFile,
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write (TRL \"messages\" rows).", dir_okay=False)],
    n: Annotated[int, typer.Option("--n", min=8, help="How many conversations (the file's first trainable records).")] = 256,
) -> None:
    """Write the conversations a 4-bit merged model is calibrated on (assets/calibration.jsonl for the embedded one).

    A 4-bit merge (`diffchat train export --merge --quant q4_1`) rounds each layer so that its outputs on these
    conversations stay close to the exact merge; records like the training data's make the best calibration.
    """
    from trainer.data.io import write_jsonl
    from trainer.data.sft_format import calibration_rows

    loaded = _load(file)
    if loaded.errors:
        raise BadInput(f"{loaded.errors[0].located(str(file))}; see `diffchat data validate {file}`")
    rows = calibration_rows(loaded.records, n)
    if not rows:
        raise BadInput(f"{file} has no trainable records (held-out ones are never used)")
    try:
        write_jsonl(output, rows)
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}") from None
    print(f"{output}: {len(rows)} conversations")


def build(
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write.", dir_okay=False)],
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=1_000_000, help="How many records.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same records.")] = 0,
    heldout_frac: Annotated[
        float, typer.Option("--heldout-frac", min=0.0, max=1.0, help="Share of records using held-out phrasings and vocabulary.")
    ] = 0.15,
    multi_turn_frac: Annotated[
        float, typer.Option("--multi-turn-frac", min=0.0, max=1.0, help="Share of records with earlier turns.")
    ] = 0.22,
    teacher: Annotated[
        Optional[str],
        typer.Option("--teacher", help="Reword instructions with an LLM: an OpenAI-compatible server URL or a .gguf path."),
    ] = None,
    teacher_frac: Annotated[
        float, typer.Option("--teacher-frac", min=0.0, max=1.0, help="Share of records the teacher rewords.")
    ] = 1.0,
) -> None:
    """Build InstructPE-style records offline from the vocabularies in assets/vocab."""
    import time
    from collections import Counter

    from trainer.data.builder import build as build_records
    from trainer.data.io import write_jsonl

    started = time.perf_counter()
    engine = None
    if teacher is not None:
        from trainer.data.teacher import make_teacher

        engine = make_teacher(teacher)  # before building, so a bad model fails fast
    drafts = build_records(n, seed, heldout_frac=heldout_frac, multi_turn_frac=multi_turn_frac)
    report = None
    if engine is not None:
        report = _paraphrase(drafts, engine, seed, teacher_frac)
    records = [draft.record for draft in drafts]
    try:
        write_jsonl(output, records)
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}") from None
    heldout = sum(record.heldout for record in records)
    turns = sum(bool(record.history) for record in records)
    categories = Counter(record.category for record in records)
    print(f"{output}: {len(records)} records in {time.perf_counter() - started:.1f}s ({heldout} held out, {turns} multi-turn)")
    print("categories: " + ", ".join(f"{name} {count}" for name, count in sorted(categories.items())))
    if report is not None:
        print(report.summary())


def _paraphrase(drafts: list[Draft], engine: LLMEngine, seed: int, share: float) -> TeacherReport:
    from rich.progress import Progress

    from trainer.data.teacher import paraphrase

    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("teacher", total=len(drafts))
        return paraphrase(drafts, engine, seed=seed, share=share, progress=lambda done: progress.update(task, completed=done))


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def prefs(
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file of DPO rows to write.", dir_okay=False)],
    session: Annotated[Optional[int], typer.Option("--session", help="Only this session (default: all of them).")] = None,
) -> None:
    """Export the candidates you kept (chosen) and passed over (rejected) in the TUI as DPO rows.

    Train on them with `diffchat train rl --algo dpo --data FILE`.
    """
    import json

    from diffchat_tui.store.sessions import SessionStore
    from trainer.rl.pairs import preference_rows

    store = SessionStore()
    try:
        if session is not None and not store.exists(session):
            raise BadInput(f"no session {session}")
        rows = preference_rows(store.preference_pairs(session))
    finally:
        store.close()
    if not rows:
        where = f" in session {session}" if session else ""
        raise BadInput(f"no chosen/rejected candidates recorded{where}; keep a candidate in the TUI first")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}") from None
    sessions = len({row["session"] for row in rows})
    print(f"{output}: {len(rows)} preference pairs from {sessions} session(s)")
