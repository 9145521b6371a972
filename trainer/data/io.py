"""Read InstructPE files (a JSON list or JSONL) row by row, and write JSONL atomically.

Every row that fails is reported with its line (and list index); none is dropped silently.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from diffchat_tui.core.errors import BadInput
from trainer.data.schema import Record, describe_errors

_BOM = "\ufeff"


@dataclass(frozen=True)
class RowError:
    """One bad row: where it is and why, in one line."""

    line: int
    """1-based line where the row starts."""
    reason: str
    index: int | None = None
    """0-based position in a JSON list; None for JSONL."""

    def located(self, name: str) -> str:
        """`FILE:LINE: reason`, with the list index when there is one."""
        item = f"item {self.index}: " if self.index is not None else ""
        reason = self.reason if len(self.reason) <= 300 else f"{self.reason[:300]}…"  # one readable line, whatever the row held
        return f"{name}:{self.line}: {item}{reason}"


@dataclass
class Loaded:
    """What a file held: the good records, in file order, and every bad row."""

    records: list[Record] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    """The line each good record starts on."""
    errors: list[RowError] = field(default_factory=list)
    form: str = "jsonl"
    """`jsonl` or `json-list`."""

    @property
    def rows(self) -> int:
        return len(self.records) + len(self.errors)


def load_records(path: Path) -> Loaded:
    """Load and validate every row of a JSON-list or JSONL file.

    The form is JSONL for a `.jsonl` name, otherwise a JSON list when the first non-space
    character is `[`. Raises BadInput only when the file itself cannot be read.
    """
    data = _read_bounded(path)
    if data.startswith(_BOM.encode()):
        data = data[len(_BOM.encode()) :]
    if path.suffix.lower() != ".jsonl" and data.lstrip()[:1] == b"[":
        return _load_list(data)
    return _load_lines(data)


MAX_FILE_BYTES = 4 * 2**30
"""A data file bigger than this is refused before it is read (a regular file says its size)."""
MAX_STREAM_BYTES = 64 * 2**20
"""A pipe or device (`/dev/zero`, `<(...)`) says no size: it is read up to this, so endless input ends."""


def _read_bounded(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            regular = os.fstat(handle.fileno()).st_mode & 0o170000 == 0o100000
            size = os.fstat(handle.fileno()).st_size
            if regular and size > MAX_FILE_BYTES:
                raise BadInput(f"{path} is {size / 2**30:.1f} GiB; data files are read whole and may be at most {MAX_FILE_BYTES // 2**30} GiB")
            limit = MAX_FILE_BYTES if regular else MAX_STREAM_BYTES
            data = handle.read(limit + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BadInput(f"{path} goes on past {limit // 2**20} MiB without ending; save the data to a regular file first")
    return data


def parse_record(value: Any) -> Record:
    """Validate one decoded row; raises ValueError with a one-line reason."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {_json_kind(value)}")
    try:
        return Record.model_validate(value)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None


def _json_kind(value: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _load_lines(data: bytes) -> Loaded:
    loaded = Loaded(form="jsonl")
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            loaded.errors.append(RowError(number, f"not valid UTF-8 (byte {exc.start + 1} of the line)"))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            loaded.errors.append(RowError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        try:
            loaded.records.append(parse_record(value))
            loaded.lines.append(number)
        except ValueError as exc:
            loaded.errors.append(RowError(number, str(exc)))
    return loaded


def _load_list(data: bytes) -> Loaded:
    loaded = Loaded(form="json-list")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        loaded.errors.append(RowError(line, "not valid UTF-8; the rest of the file was not read"))
        return loaded
    for index, line, value in _scan_list(text):
        if isinstance(value, _Broken):
            loaded.errors.append(RowError(line, value.reason, index))
            continue
        try:
            loaded.records.append(parse_record(value))
            loaded.lines.append(line)
        except ValueError as exc:
            loaded.errors.append(RowError(line, str(exc), index))
    return loaded


@dataclass(frozen=True)
class _Broken:
    reason: str


def _scan_list(text: str) -> Iterator[tuple[int, int, Any]]:
    """Yield (index, line, value) for each item of a top-level JSON list; a syntax error ends the scan."""
    decoder = json.JSONDecoder()
    lines = _LineCounter(text)
    pos = _skip_space(text, 0) + 1  # past the opening bracket
    pos = _skip_space(text, pos)
    if text[pos : pos + 1] == "]":
        pos = _skip_space(text, pos + 1)
        if pos < len(text):
            yield 0, lines.at(pos), _Broken("unexpected text after the list")
        return
    index = 0
    while True:
        start = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield index, lines.at(start), _Broken(f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}); the rest of the file was not read")
            return
        yield index, lines.at(start), value
        pos = _skip_space(text, pos)
        following = text[pos : pos + 1]
        if following == ",":
            pos = _skip_space(text, pos + 1)
            index += 1
            continue
        if following == "]":
            pos = _skip_space(text, pos + 1)
            if pos < len(text):
                yield index + 1, lines.at(pos), _Broken("unexpected text after the list")
            return
        yield index + 1, lines.at(pos), _Broken("expected ',' or ']' after an item; the rest of the file was not read")
        return


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _file_mode(path: Path) -> int:
    """The mode of the file being replaced, or what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class _LineCounter:
    """Line numbers of increasing positions, counted once rather than from the start every time."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def write_jsonl(path: Path, records: Iterable[Record | dict[str, Any]]) -> int:
    """Write records as JSONL through a temporary file and a rename; returns how many were written.

    A crash mid-write leaves the old file (or none) in place, never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        os.chmod(temporary, _file_mode(path))  # mkstemp makes it private; give it the mode a plain open would
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            for record in records:
                row = record.to_json() if isinstance(record, Record) else record
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
