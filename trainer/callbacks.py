"""Trainer callbacks: a rich progress bar and a loss-curve PNG kept up to date in the run folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback

from trainer.plots import new_figure, save_figure

LOSS_PLOT = "loss.png"


class RichProgress(TrainerCallback):
    """One rich progress bar for the whole run (main process only), showing the latest loss.

    When stderr is not a terminal (nohup, CI) it prints one plain line per log instead, so a log file shows progress.
    """

    def __init__(self) -> None:
        self.progress = None
        self.task = None
        self.loss = ""
        self.plain = False
        self.started = 0.0
        self.first_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        import sys
        import time

        self.started, self.first_step = time.perf_counter(), state.global_step
        if not sys.stderr.isatty():
            self.plain = True
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]train[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.progress.start()
        # A resumed run starts part-way: the bar starts where the checkpoint left off.
        self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, loss="")

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step, loss=self.loss)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.plain and logs:
            self._print_line(state, logs)
        if self.progress is None or not logs:
            return
        if "loss" in logs:
            self.loss = f"loss {logs['loss']:.4f}"
        if "eval_loss" in logs:
            self.loss += f"  eval {logs['eval_loss']:.4f}"
        self.progress.update(self.task, loss=self.loss)

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _print_line(self, state, logs: dict) -> None:
        import sys
        import time

        done = state.global_step - self.first_step
        per_step = (time.perf_counter() - self.started) / done if done else 0.0
        wanted = ("loss", "eval_loss", "learning_rate", "train_loss", "train_runtime")
        shown = "  ".join(f"{key} {value:.4g}" for key, value in logs.items() if key in wanted)
        print(f"step {state.global_step}/{state.max_steps}  {shown}  {per_step:.2f} s/step", file=sys.stderr, flush=True)


class HistoryPlot(TrainerCallback):
    """Redraws a PNG from the trainer's log history at every save and at the end (so resumes keep the curve)."""

    def __init__(self, draw: Callable[[list[dict], Path], Path | None], filename: str) -> None:
        self.draw = draw
        self.filename = filename

    def on_save(self, args, state, control, **kwargs):
        self._redraw(args, state)

    def on_train_end(self, args, state, control, **kwargs):
        self._redraw(args, state)

    def _redraw(self, args, state) -> None:
        if state.is_world_process_zero:
            self.draw(state.log_history, Path(args.output_dir) / self.filename)


class LossPlot(HistoryPlot):
    """loss.png in the run folder."""

    def __init__(self) -> None:
        super().__init__(plot_loss, LOSS_PLOT)


def plot_loss(history: list[dict], out: Path) -> Path | None:
    """Training (and eval, when present) loss against the step; None when nothing was logged yet."""
    train = [(entry["step"], entry["loss"]) for entry in history if "loss" in entry and "step" in entry]
    evals = [(entry["step"], entry["eval_loss"]) for entry in history if "eval_loss" in entry]
    if not train and not evals:
        return None
    figure, axes = new_figure()
    if train:
        axes.plot(*zip(*train), label="train loss")
    if evals:
        axes.plot(*zip(*evals), marker="o", label="eval loss")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend()
    return save_figure(figure, out)
