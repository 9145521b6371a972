"""`diffchat config`: where the settings live and what they resolve to."""

from __future__ import annotations

from diffchat_tui import paths


def path() -> None:
    """Print the config file's path (it need not exist yet)."""
    print(paths.config_file())


def show() -> None:
    """Print the effective settings as TOML: defaults, then the file, then DIFFCHAT_* variables."""
    from diffchat_tui.config import load_settings

    settings = load_settings()
    print(f"# {paths.config_file()}")
    for section, values in settings.model_dump().items():
        print(f"\n[{section}]")
        for key, value in values.items():
            print(f"{key} = {_toml_value(value)}" if value is not None else f"# {key} is unset")


def _toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else str(value)
