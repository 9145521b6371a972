"""Seed, steps, CFG, size and negative prompt for the next render; the seed is locked by default."""

from __future__ import annotations

from typing import Any

from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label

BAR_FIELDS = ("steps", "cfg_scale", "width", "height", "sampler", "negative_prompt")
"""Render settings the bar shows and may change; every other image setting comes from config.toml."""


class ParamsBar(Vertical):
    def __init__(self, params: dict[str, Any], lock_seed: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.initial = params
        self.lock_seed = lock_seed

    def compose(self):
        p = self.initial
        with Horizontal(classes="param-row"):
            yield Label("seed")
            yield Input(str(p.get("seed", 0)), id="seed", type="integer", classes="param wide")
            yield Checkbox("lock", self.lock_seed, id="lock-seed")
        with Horizontal(classes="param-row"):
            yield Label("steps")
            yield Input(_text(p.get("steps")), id="steps", type="integer", placeholder="auto", classes="param short")
            yield Label("cfg")
            yield Input(_text(p.get("cfg_scale")), id="cfg", type="number", placeholder="auto", classes="param short")
            yield Label("size")
            yield Input(_size(p), id="size", placeholder="auto", classes="param wide")
        with Horizontal(classes="param-row"):
            yield Label("sampler")
            yield Input(p.get("sampler") or "", id="sampler", placeholder="the model's own", classes="param")
        yield Input(p.get("negative_prompt", ""), id="negative", placeholder="negative prompt", classes="param")

    def values(self) -> dict[str, Any]:
        """The parameters as typed; empty fields mean the model's default."""
        def number(widget_id: str, kind):
            text = self.query_one(f"#{widget_id}", Input).value.strip()
            try:
                return kind(text) if text else None
            except ValueError:
                return None

        width = height = None
        size = self.query_one("#size", Input).value.lower().strip()
        if "x" in size:
            try:
                width, height = (int(part) // 8 * 8 for part in size.split("x", 1))
            except ValueError:
                width = height = None
        return {
            "seed": number("seed", int) or 0,
            "steps": number("steps", int),
            "cfg_scale": number("cfg", float),
            "width": width,
            "height": height,
            "sampler": self.query_one("#sampler", Input).value.strip() or None,
            "negative_prompt": self.query_one("#negative", Input).value.strip(),
        }

    @property
    def seed_locked(self) -> bool:
        return self.query_one("#lock-seed", Checkbox).value

    def set_seed(self, seed: int) -> None:
        self.query_one("#seed", Input).value = str(seed)

    def fill(self, params: dict[str, Any]) -> None:
        """Every field the parameters name (a pasted A1111 block, a picture's metadata); the rest stay."""
        fields = {"seed": "seed", "steps": "steps", "cfg_scale": "cfg", "sampler": "sampler", "negative_prompt": "negative"}
        for key, widget_id in fields.items():
            if params.get(key) is not None:
                self.query_one(f"#{widget_id}", Input).value = str(params[key])
        if params.get("width") and params.get("height"):
            self.query_one("#size", Input).value = _size(params)

    def set_negative(self, negative: str) -> None:
        """An edit may change the negative prompt ("no text"): the next render uses the new one."""
        self.query_one("#negative", Input).value = negative


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _size(params: dict[str, Any]) -> str:
    width, height = params.get("width"), params.get("height")
    return f"{width}x{height}" if width and height else ""
