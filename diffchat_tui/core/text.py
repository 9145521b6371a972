"""Untrusted text in, safe text out: user input and model output alike."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from diffchat_tui.core.errors import BadInput

# ECMA-48 sequences: CSI, OSC/DCS/APC/PM/SOS strings (ended by BEL or ST), then lone two-byte escapes.
_ESCAPE_SEQUENCE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                       # CSI ... final byte
    | \x9b[0-?]*[ -/]*[@-~]                       # 8-bit CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # string sequences
    | \x1b[ -/]*[0-~]                             # two-byte escapes (ESC c, ESC 7, charset picks)
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 and C1 controls plus DEL; whitespace controls are turned into spaces first.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates (U+202E shows "gpj.exe" as "exe.jpg"): they reorder what the reader sees.
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Lone surrogates: what Python makes of invalid UTF-8 in argv (surrogateescape) or a JSON "\\udcff" escape.
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE_RUN = re.compile(r"\s+")

MAX_SOURCE_CHARS = 1000
"""CLIP reads 77 tokens; a source far longer than this is not a prompt and would crowd the context."""
MAX_INSTRUCTION_CHARS = 300


def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences, control and bidi-override characters, keeping newlines and tabs.

    A lone surrogate cannot be printed or encoded at all, so it becomes U+FFFD.
    """
    return _SURROGATE.sub("\ufffd", _BIDI_CONTROL.sub("", _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))))


def shorten(text: str, max_chars: int) -> str:
    """For display only: a long text cut with a note of how much was left out."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}… ({len(text) - max_chars} more characters)"


def first_line(error: BaseException, max_chars: int = 200) -> str:
    """One line of an error's message, for a one-line report (a server's error may carry its whole page);
    its type name when the message is empty."""
    lines = str(error).strip().splitlines()
    return lines[0][:max_chars] if lines else type(error).__name__


def one_line(text: str) -> str:
    """Collapse every run of whitespace, newlines included, into one space."""
    return _WHITESPACE_RUN.sub(" ", text).strip()


@dataclass
class CleanInput:
    """A validated field of user input plus the warnings worth telling the user."""

    text: str
    warnings: list[str] = field(default_factory=list)


def keep_lines(text: str) -> str:
    """A prompt's own line breaks stay (a BREAK on its own line means something); other whitespace runs shrink."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_user_text(raw: str, what: str, max_chars: int, *, multiline: bool = False) -> CleanInput:
    """Validate one field of user input: strip escapes, refuse empty text, cut oversized text.

    multiline keeps line breaks (prompts); otherwise the text becomes one line (instructions).
    Raises BadInput (exit code 2) when nothing usable is left.
    """
    warnings: list[str] = []
    if _SURROGATE.search(raw):
        raise BadInput(f"{what} is not valid UTF-8")
    stripped = strip_escapes(raw)
    if stripped != raw.replace("\r", ""):  # a Windows line end is not worth a warning
        warnings.append(f"{what}: removed control or escape characters")
    text = keep_lines(stripped) if multiline else one_line(stripped)
    if not text:
        raise BadInput(f"{what} is empty")
    if len(text) > max_chars:
        cut = text[:max_chars]
        # Cut at a phrase or word boundary so the model does not see half a word.
        boundary = max(cut.rfind(","), cut.rfind(" "))
        text = (cut[:boundary] if boundary > max_chars // 2 else cut).rstrip(" ,")
        warnings.append(f"{what}: {len(stripped.strip())} characters is too long; cut to {len(text)}")
    return CleanInput(text, warnings)


def decode_utf8(data: bytes, what: str) -> str:
    """Decode bytes strictly; invalid UTF-8 is bad input, not something to guess at."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} is not valid UTF-8 (byte {exc.start})") from None


def read_bounded(stream: BinaryIO, max_bytes: int, what: str) -> tuple[str, bool]:
    """At most max_bytes of a stream as text, and whether there was more: endless input (`< /dev/zero`,
    `yes |`) is never read whole. A character cut in half at the bound is dropped; invalid UTF-8 is BadInput."""
    data = stream.read(max_bytes + 1)
    more = len(data) > max_bytes
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data[:max_bytes], final=not more), more
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} is not valid UTF-8 (byte {exc.start})") from None


def read_lines_bounded(stream: BinaryIO, max_bytes: int, skip_bytes: int = 16 * 2**20):
    """Yield (line number, bytes, too_long) for each line, holding at most max_bytes of one line in memory.

    The rest of an overlong line is skipped; a line still going after skip_bytes more (an endless one)
    ends the stream with a last (number, b"", None).
    """
    number = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield number, line, False
            continue
        skipped = 0
        while skipped < skip_bytes:
            rest = stream.readline(min(2**20, skip_bytes - skipped))
            skipped += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        else:
            yield number, b"", None
            return
        yield number, b"", True
