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
        tables = {key: value for key, value in values.items() if isinstance(value, dict)}
        for key, value in values.items():
            if key not in tables:
                print(f"{_toml_key(key)} = {_toml_value(value)}" if value is not None else f"# {key} is unset")
        for key, table in tables.items():  # a sub-table comes after its section's plain keys, as TOML wants
            print(f"\n[{section}.{_toml_key(key)}]")
            for name, value in table.items():
                print(f"{_toml_key(name)} = {_toml_value(value)}")


def _toml_key(key: str) -> str:
    import re

    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: object) -> str:
    """A TOML literal: JSON's string escapes are TOML's, as long as non-ASCII stays as it is."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
