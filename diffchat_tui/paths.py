"""Where diffchat keeps things: XDG directories, or all under DIFFCHAT_HOME when it is set; and how it writes them."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP_NAME = "diffchat"
HOME_ENV = "DIFFCHAT_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    if home := _home():
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP_NAME)


def data_dir() -> Path:
    """Sessions, images and trained models: things a user would be sad to lose."""
    if home := _home():
        return home / "data"
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def cache_dir() -> Path:
    """Things that can be rebuilt: converted models, sampling caches."""
    if home := _home():
        return home / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME)


def config_file() -> Path:
    return config_dir() / "config.toml"


def package_assets_dir() -> Path:
    """`assets/` in a source checkout, or its copy inside an installed wheel."""
    package = Path(__file__).resolve().parent
    installed = package / "_assets"
    return installed if installed.is_dir() else package.parent / "assets"


def write_atomically(path: Path, data: bytes) -> None:
    """A temporary file beside it, then a rename: a reader never sees half a file, and a failed write
    leaves no temporary file behind (its own clean-up failing is not allowed to hide why)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
