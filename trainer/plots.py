"""PNG charts for training and evaluation: matplotlib on its file-only backend, written atomically."""

from __future__ import annotations

from pathlib import Path


def new_figure(**subplots):
    """A matplotlib figure and axes on the file-only backend (no display on a training box)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(**{"figsize": (7, 4), "dpi": 100, **subplots})


def save_figure(figure, out: Path) -> Path:
    """Writes the PNG through a temp file and a rename, so a reader never sees half a picture."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".tmp.png")
    figure.savefig(partial)
    plt.close(figure)
    partial.replace(out)
    return out
