"""`diffchat edit`: apply plain-word instructions to a prompt, once or for a whole JSONL file."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Optional

import typer

from diffchat_tui.cli import imaging, options
from diffchat_tui.cli.output import fail, note, warn
from diffchat_tui.core.errors import BadInput, GenerationError, ModelError
from diffchat_tui.core.text import MAX_INSTRUCTION_CHARS, MAX_SOURCE_CHARS, clean_user_text, decode_utf8

if TYPE_CHECKING:
    from PIL.Image import Image

    from diffchat_tui.core.prompting import Turn
    from diffchat_tui.engines.editor import Editor, EditResult
    from diffchat_tui.engines.image import RenderResult

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
        Optional[int], typer.Option("--seed", help="Sampling seed, and the render's (else the --image's own).")
    ] = None,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", min=8, max=1024, help="Answer length cap.")] = None,
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
    generation = GenerationOptions.from_settings(settings)

    if batch is not None:
        editor = Editor(make_llm_engine(settings, notice=note), generation, warn)
        with _open_input(batch) as stream:
            failed = run_batch(editor, stream, str(batch), candidates)
        if failed:
            raise typer.Exit(2)
        return

    instruction_texts = [_field(text, "instruction", MAX_INSTRUCTION_CHARS) for text in instructions or []]
    start = _starting_point(source, image, image_settings.caption_model)
    editor = Editor(make_llm_engine(settings, notice=note), generation, warn)
    turns = run_turns(editor, start.prompt, instruction_texts, candidates, image_settings.negative_prompt)
    final = turns[-1][0]
    warn_if_chunk_crossed(start.prompt, final.target)
    image_settings = image_settings.model_copy(update={"negative_prompt": final.negative})  # "no text" edits it
    rendered = render_error = None
    if render is not None:
        from diffchat_tui.engines.image_files import file_sha256

        own = {
            "source_prompt": start.prompt,
            "instructions": instruction_texts,
            "parent_sha256": file_sha256(image) if image else None,
            "llm": editor.engine.name,
            "prompt_format": editor.prompt_format,
            "image_model": image_settings.model,
        }
        render_seed = seed if seed is not None else (start.seed if start.seed is not None else settings.seed)
        try:
            rendered = imaging.render_to_file(
                image_settings, final.target, render, seed=render_seed, init_image=start.image, diffchat=own
            )
        except ModelError as exc:  # the prompt is still worth having
            render_error = exc
    _print_turns(turns, len(instruction_texts) > 1, candidates > 1, as_json, render if rendered else None, rendered)
    if rendered is not None and show:
        imaging.show_image(rendered.image, preview or all_settings.ui.image_protocol)
    if render_error is not None:
        fail(str(render_error), 1)


@dataclass
class StartingPoint:
    prompt: str
    image: Image | None = None
    seed: int | None = None


def _starting_point(source: str | None, image: Path | None, caption_model: str) -> StartingPoint:
    """The source prompt: given, read from stdin, or taken from a picture (metadata, else a caption)."""
    if image is not None:
        from diffchat_tui.engines.caption import Captioner, prompt_from_image

        found = prompt_from_image(image, Captioner(caption_model))
        print(f"diffchat: source prompt from {found.how}", file=sys.stderr)
        return StartingPoint(found.prompt, found.image, found.seed)
    raw = decode_utf8(sys.stdin.buffer.read(), "stdin") if source == "-" else source
    return StartingPoint(_field(raw or "", "source", MAX_SOURCE_CHARS, multiline=True))


def _field(raw: str, what: str, max_chars: int, multiline: bool = False) -> str:
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
            if rendered is not None and turn_index == len(turns) - 1 and index == 0:
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
    """Edit every line with one model load; bad lines are reported and skipped. Returns how many failed."""
    failed = 0
    for number, data in enumerate(stream, start=1):
        if not data.strip():
            continue
        record_id = None
        try:
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
    return failed
