"""Keep the Hugging Face libraries' import-time chatter and progress bars off the user's terminal."""

from __future__ import annotations

import os
import warnings


def quiet_hf() -> None:
    """Call before importing transformers or diffusers: warnings only when they are errors."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # diffusers 0.42 still passes this argument to huggingface_hub, which warns on every load.
    warnings.filterwarnings("ignore", message="The `local_dir_use_symlinks` argument", category=UserWarning)


def no_transformers_progress_bars() -> None:
    """Loading and saving weights is quick; only downloads (huggingface_hub's own bars) get progress."""
    from transformers.utils import logging

    logging.disable_progress_bar()
