"""`diffchat edit`: apply plain-word instructions to a prompt, once or for a whole JSONL file."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Optional

import typer

from diffchat_tui.cli import imaging, options
from diffchat_tui.cli.output import exit_done, fail, note, warn
from diffchat_tui.core.errors import BadInput, DiffchatError, GenerationError, ModelError
from diffchat_tui.core.seeds import concrete_seed
from diffchat_tui.core.text import (
    MAX_INSTRUCTION_CHARS,
    MAX_SOURCE_CHARS,
    clean_user_text,
    decode_utf8,
    read_bounded,
    read_lines_bounded,
)

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.config import ImageSettings
    from diffchat_tui.core.infotext import GenerationInfo
    from diffchat_tui.core.prompting import Turn
    from diffchat_tui.engines.editor import Editor, EditResult
    from diffchat_tui.engines.image import RenderResult

MAX_STDIN_BYTES = 4 * MAX_SOURCE_CHARS
"""A source read from stdin is cut to MAX_SOURCE_CHARS anyway; four bytes a character is UTF-8's most."""
MAX_BATCH_LINE_BYTES = 64 * 1024
"""A batch line holds a source, an instruction and a negative prompt: a few KB even JSON-escaped."""

EXAMPLES = """
Examples:

  diffchat edit "a cat on a sofa" -i "make it cyberpunk at night"

  echo "a cat on a sofa" | diffchat edit - -i "add a red umbrella" -i "make it a watercolor" --json

  diffchat edit --batch edits.jsonl > targets.jsonl

  diffchat edit --image photo.png -i "make it winter" --render winter.png --show
"""


def edit(
    source: Annotated[
        Optional[str], typer.Argument(help="The prompt to edit, or - to read it from stdin.", show_default=False)
    ] = None,
    instructions: Annotated[
        Optional[list[str]],
        typer.Option("-i", "--instruction", help="What to change, in plain words. Repeat for a multi-turn edit."),
    ] = None,
    image: Annotated[
        Optional[Path],
        typer.Option("--image", help="Start from a picture: its metadata's prompt, else a caption.", dir_okay=False),
    ] = None,
    render: Annotated[
        Optional[Path], typer.Option("--render", help="Render the final prompt to this PNG.", dir_okay=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per result, with timings.")] = False,
    batch: Annotated[
        Optional[Path],
        typer.Option(
            "--batch",
            help='JSONL file (or -) of {"id"?, "source", "instruction", "negative"?}; writes one JSON line per line.',
            dir_okay=False,
        ),
    ] = None,
    candidates: Annotated[int, typer.Option("-n", "--candidates", min=1, max=16, help="Distinct targets to give.")] = 1,
    model: options.Model = None,
    lora: options.Lora = None,
    llm_url: options.LlmUrl = None,
    temperature: Annotated[
        Optional[float], typer.Option("--temperature", min=0.0, max=2.0, help="0 (the default) is greedy.")
    ] = None,
    seed: Annotated[
        Optional[int],
        typer.Option("--seed", **options.SEED_RANGE, help="Sampling seed, and the render's (else the --image's own); -1 picks one."),
    ] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=8, max=1024, help="Answer length cap.")] = None,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log this edit in the history (diffchat history).")] = False,
    no_beautify: Annotated[
        bool, typer.Option("--no-beautify", help="Never add quality words (masterpiece, sharp focus, ...): for tuned prompts.")
    ] = False,
    image_model: options.ImageModel = None,
    caption_model: options.CaptionModel = None,
    steps: options.Steps = None,
    cfg: options.Cfg = None,
    size: options.Size = None,
    negative: options.Negative = None,
    sampler: options.Sampler = None,
    strength: options.Strength = None,
    no_metadata: options.NoMetadata = False,
    show: options.Show = False,
    preview: options.Preview = None,
) -> None:
    """Rewrite a Stable Diffusion prompt by plain-word instructions and print the target prompt.

    Plain output is the final target prompt (one line per candidate); --json prints every turn.
    With --render the final prompt is also rendered (img2img from --image when given).
    """
    from diffchat_tui.config import load_settings
    from diffchat_tui.engines.editor import Editor, GenerationOptions
    from diffchat_tui.engines.factory import make_llm_engine

    if batch is None and source is None and image is None:
        raise BadInput("give a SOURCE prompt (or - for stdin), --image FILE, or --batch FILE")
    if batch is not None and (source is not None or instructions or image or render):
        raise BadInput("--batch takes its sources and instructions from the file; drop SOURCE, -i, --image, --render")
    if source is not None and image is not None:
        raise BadInput("give a SOURCE prompt or --image, not both")
    if batch is None and not instructions:
        raise BadInput("give at least one -i/--instruction")

    all_settings = load_settings()
    settings = options.llm_settings(
        all_settings.llm, model=model, lora=lora, url=llm_url, temperature=temperature, seed=seed, max_tokens=max_tokens,
        beautify=False if no_beautify else None,
    )
    image_settings = options.image_settings(
        all_settings.image, size=size, no_metadata=no_metadata, model=image_model, caption_model=caption_model,
        steps=steps, cfg_scale=cfg, negative_prompt=negative, sampler=sampler, strength=strength,
    )
    settings.seed = concrete_seed(settings.seed)  # -1: one seed for the whole run, and the one the PNG records
    if negative is not None:
        image_settings.negative_prompt = _field(negative, "--negative", MAX_SOURCE_CHARS, multiline=True, empty_ok=True)
    generation = GenerationOptions.from_settings(settings)

    if batch is not None:
        editor = Editor(make_llm_engine(settings, notice=note), generation, warn)
        with _open_input(batch) as stream:
            failed = run_batch(editor, stream, str(batch), candidates)
        if failed:
            raise typer.Exit(2)
        return

    if render is not None:
        from diffchat_tui.engines.image_files import check_writable

        check_writable(render)  # before the model loads: a bad --render must not cost the edit
    instruction_texts = [_field(text, "instruction", MAX_INSTRUCTION_CHARS) for text in instructions or []]
    start = _starting_point(source, image, image_settings.caption_model)
    if start.info is not None:
        flags = {"negative_prompt": negative, "steps": steps, "cfg_scale": cfg, "sampler": sampler, "width": size, "height": size}
        image_settings = _carry_over(image_settings, start.info, {key for key, value in flags.items() if value is not None})
    editor = Editor(make_llm_engine(settings, notice=note), generation, warn)
    turns = run_turns(editor, start.prompt, instruction_texts, candidates, image_settings.negative_prompt)
    final = turns[-1][0]
    warn_if_chunk_crossed(start.prompt, final.target)
    if all_settings.history.log and not no_log:
        log_turns(start.prompt, turns, image_settings.negative_prompt)
    image_settings = image_settings.model_copy(update={"negative_prompt": final.negative})  # "no text" edits it
    rendered = render_error = None
    cells: list[Path] = []
    if render is not None:
        from diffchat_tui.engines.image_files import file_sha256

        own = {
            "source_prompt": start.prompt,
            "instructions": instruction_texts,
            "parent_sha256": file_sha256(image) if image else None,
            "scripts": [results[0].script for results in turns],
            "llm": editor.engine.name,
            "prompt_format": editor.prompt_format,
            "image_model": image_settings.model,
        }
        render_seed = seed if seed is not None else (start.seed if start.seed is not None else settings.seed)
        try:
            if candidates > 1:  # one picture per candidate, same seed, and a labelled sheet of them
                rendered, cells = imaging.render_sheet(image_settings, turns[-1], render, render_seed, start.image, own)
            else:
                rendered = imaging.render_to_file(
                    image_settings, final.target, render, seed=render_seed, init_image=start.image, diffchat=own
                )
        except DiffchatError as exc:  # the prompt is made, and still worth having
            render_error = exc
        except Exception as exc:  # noqa: BLE001 - whatever the pipeline raises, the prompt is printed first
            render_error = DiffchatError(f"render failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}")
    _print_turns(turns, len(instruction_texts) > 1, candidates > 1, as_json, render if rendered else None, rendered, cells)
    if rendered is not None and show:
        imaging.show_image(rendered.image, preview or all_settings.ui.image_protocol)
    if render_error is not None:
        fail(str(render_error), 1 if isinstance(render_error, ModelError) else render_error.exit_code)
    exit_done()


@dataclass
class StartingPoint:
    prompt: str
    image: Image | None = None
    seed: int | None = None
    info: GenerationInfo | None = None
    """The picture's own metadata, when it had some: its render settings carry over."""


def _starting_point(source: str | None, image: Path | None, caption_model: str) -> StartingPoint:
    """The source prompt: given, read from stdin, or taken from a picture (metadata, else a caption)."""
    if image is not None:
        from diffchat_tui.engines.caption import Captioner, prompt_from_image

        found = prompt_from_image(image, Captioner(caption_model))
        print(f"diffchat: source prompt from {found.how}", file=sys.stderr)
        for message in found.warnings:
            warn(message)
        return StartingPoint(found.prompt, found.image, found.seed, found.info)
    raw = source
    if source == "-":
        raw, more = read_bounded(sys.stdin.buffer, MAX_STDIN_BYTES, "stdin")
        if more:
            warn(f"stdin: more than {MAX_STDIN_BYTES} bytes; read the first {MAX_STDIN_BYTES}")
    return StartingPoint(_field(raw or "", "source", MAX_SOURCE_CHARS, multiline=True))


def _carry_over(settings: ImageSettings, info: GenerationInfo, flagged: set[str]) -> ImageSettings:
    """The picture's negative prompt, steps, CFG, sampler and size, where no flag says otherwise; a value
    outside what diffchat can render is left out with a warning."""
    from pydantic import ValidationError

    from diffchat_tui.engines.image import SAMPLERS

    found, warnings = info.render_settings(SAMPLERS)
    found.pop("seed", None)  # the seed has its own rule: --seed, else the picture's (see _starting_point)
    for warning in warnings if "sampler" not in flagged else []:
        warn(warning)
    kept = {}
    for key, value in found.items():
        if key in flagged:
            continue
        try:
            settings.model_validate(settings.model_dump() | {key: value})
        except ValidationError:
            warn(f"the picture's {key.replace('_', ' ')} {value!r} is outside what diffchat renders; left out")
            continue
        kept[key] = value
    return settings.model_copy(update=kept)


def _field(raw: str, what: str, max_chars: int, multiline: bool = False, empty_ok: bool = False) -> str:
    if empty_ok and not raw.strip():
        return ""
    cleaned = clean_user_text(raw, what, max_chars, multiline=multiline)
    for message in cleaned.warnings:
        warn(message)
    return cleaned.text


def _open_input(path: Path) -> BinaryIO:
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        return path.open("rb")
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None


def _record(result: EditResult, **extra: Any) -> dict[str, Any]:
    from diffchat_tui.core.clip_tokens import count_tokens

    record = {**extra, "source": result.source, "instruction": result.instruction, "target": result.target}
    if result.negative:
        record["negative"] = result.negative
    if result.script:
        record["script"] = result.script
    record["clip_tokens"] = count_tokens(result.target).as_json()
    return record | {"model": result.model, "timings": result.timings.rounded()}


def warn_if_chunk_crossed(before: str, after: str) -> None:
    """SD reads 75 CLIP tokens a chunk: say so when an edit pushes words into a new chunk (nothing is cut)."""
    if len(after.split()) < 40:  # far from 75 tokens: not worth loading the tokenizer
        return
    from diffchat_tui.core.clip_tokens import CHUNK, count_tokens

    old, new = count_tokens(before), count_tokens(after)
    if len(new.chunks) > len(old.chunks):
        warn(f"the prompt is now {new.total} CLIP tokens: words past the {CHUNK}th start chunk {len(new.chunks)} ({new.label})")


def _emit(obj: dict[str, Any]) -> None:
    # json.dumps escapes control characters, so model output cannot reach the terminal raw.
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def log_turns(source: str, turns: list[list[EditResult]], negative: str) -> None:
    """Keep the edit in the history (the first candidate of each turn); a failure to log never fails the edit."""
    from diffchat_tui.store.history import log_edit
    from diffchat_tui.store.sessions import SessionStore

    try:
        log_edit(SessionStore(), source, [results[0].turn for results in turns], turns[0][0].model, negative)
    except DiffchatError as exc:
        warn(f"not logged in the history: {exc}")


def run_turns(editor: Editor, source: str, instructions: list[str], count: int, negative: str = "") -> list[list[EditResult]]:
    """Apply instructions one after another; each turn sees the earlier ones (through the first candidate)."""
    history: list[Turn] = []
    turns = []
    for instruction in instructions:
        results = editor.candidates(source, instruction, count, history, negative=negative)
        history.append(results[0].turn)
        turns.append(results)
    return turns


def _print_turns(
    turns: list[list[EditResult]],
    numbered: bool,
    several: bool,
    as_json: bool,
    image_path: Path | None,
    rendered: RenderResult | None,
    cells: list[Path] = (),
) -> None:
    if not as_json:
        for result in turns[-1]:
            print(result.target, flush=True)
        return
    for turn_index, results in enumerate(turns):
        for index, result in enumerate(results):
            extra: dict[str, Any] = {"turn": turn_index + 1} if numbered else {}
            extra |= {"candidate": index + 1} if several else {}
            record = _record(result, **extra)
            if rendered is not None and turn_index == len(turns) - 1 and cells:
                record |= {"image": str(cells[index]), "sheet": str(image_path), "seed": rendered.request.seed}
            elif rendered is not None and turn_index == len(turns) - 1 and index == 0:
                record |= {"image": str(image_path), "seed": rendered.request.seed, "render_s": round(rendered.seconds, 4)}
            _emit(record)


def _parse_line(data: bytes) -> dict[str, Any]:
    try:
        record = json.loads(decode_utf8(data, "the line"))
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise BadInput("expected a JSON object")
    return record


def _record_fields(record: dict[str, Any], number: int) -> tuple[str, str, str]:
    """The cleaned source, instruction and (optional) negative prompt of one batch record; BadInput says what is wrong."""
    texts = []
    for key, max_chars in (("source", MAX_SOURCE_CHARS), ("instruction", MAX_INSTRUCTION_CHARS), ("negative", MAX_SOURCE_CHARS)):
        if key == "negative" and not record.get(key):
            texts.append("")
            continue
        if not isinstance(record.get(key), str):
            raise BadInput(f'"{key}" must be a string')
        cleaned = clean_user_text(record[key], key, max_chars, multiline=key != "instruction")
        for message in cleaned.warnings:
            warn(f"line {number}: {message}")
        texts.append(cleaned.text)
    return texts[0], texts[1], texts[2]


def run_batch(editor: Editor, stream: BinaryIO, name: str, count: int) -> int:
    """Edit every line with one model load; bad lines are reported and skipped. Returns how many failed.

    A line is read with a bound (MAX_BATCH_LINE_BYTES), so an endless one cannot exhaust memory.
    """
    failed = answered = 0
    for number, data, too_long in read_lines_bounded(stream, MAX_BATCH_LINE_BYTES):
        if too_long is None:
            failed += 1
            print(f"diffchat: {name}:{number}: an endless line; the rest of the input was not read", file=sys.stderr)
            _emit({"id": None, "line": number, "error": "an endless line; the rest of the input was not read"})
            break
        if not too_long and not data.strip():
            continue
        answered += 1
        record_id = None
        try:
            if too_long:
                raise BadInput(f"longer than {MAX_BATCH_LINE_BYTES} bytes; not an edit")
            record = _parse_line(data)
            record_id = record.get("id")
            source, instruction, negative = _record_fields(record, number)
            results = editor.candidates(source, instruction, count, negative=negative)
        except (BadInput, GenerationError) as exc:
            failed += 1
            print(f"diffchat: {name}:{number}: {exc}", file=sys.stderr)
            _emit({"id": record_id, "line": number, "error": str(exc)})
            continue
        extra = {"candidates": [result.target for result in results]} if count > 1 else {}
        _emit(_record(results[0], id=record_id, line=number, **extra))
    if not answered:
        raise BadInput(f"{name} holds no edits (one JSON object a line)")
    return failed
