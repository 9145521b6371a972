"""`diffchat grid`: instructions × seeds, every cell rendered, in one labelled picture (A1111's X/Y plot, for edits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from diffchat_tui.cli import imaging, options
from diffchat_tui.cli.output import note, warn
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.text import MAX_INSTRUCTION_CHARS, MAX_SOURCE_CHARS, clean_user_text

EXAMPLES = """
Example:

  diffchat grid "a lighthouse on a cliff" -i "make it stormy" -i "make it a watercolor" --seed 1 --seed 2 --seed 3 -o grid.png
"""
MAX_CELLS = 64


def grid(
    source: Annotated[str, typer.Argument(help="The prompt every instruction edits.", show_default=False)],
    instructions: Annotated[list[str], typer.Option("-i", "--instruction", help="One row per instruction (repeat).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The grid PNG to write.", dir_okay=False)],
    seeds: Annotated[
        Optional[list[int]], typer.Option("--seed", **options.SEED_RANGE, help="One column per seed (repeat); default 1, 2, 3.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every row's prompt and script as JSON.")] = False,
    model: options.Model = None,
    lora: options.Lora = None,
    llm_url: options.LlmUrl = None,
    image_model: options.ImageModel = None,
    steps: options.Steps = None,
    cfg: options.Cfg = None,
    size: options.Size = None,
    negative: options.Negative = None,
    sampler: options.Sampler = None,
) -> None:
    """Render the source and each instruction's edit of it with the same seeds, as a table of pictures.

    Row 1 is the source as it is; each instruction edits the source on its own (one turn), so the rows
    compare instructions like for like. Every cell of a column shares its seed.
    """
    from diffchat_tui.config import load_settings
    from diffchat_tui.engines.contact_sheet import contact_sheet
    from diffchat_tui.engines.editor import Editor, GenerationOptions
    from diffchat_tui.engines.factory import make_image_engine, make_llm_engine
    from diffchat_tui.engines.image import RenderRequest
    from diffchat_tui.engines.image_files import check_writable

    seeds = list(dict.fromkeys(seeds or [1, 2, 3]))
    if (len(instructions) + 1) * len(seeds) > MAX_CELLS:
        raise BadInput(f"a grid holds at most {MAX_CELLS} pictures; use fewer instructions or seeds")
    text = clean_user_text(source, "source", MAX_SOURCE_CHARS, multiline=True).text
    asked = [clean_user_text(i, "instruction", MAX_INSTRUCTION_CHARS).text for i in instructions]
    check_writable(out)  # before any model loads
    settings = load_settings()
    llm = options.llm_settings(settings.llm, model=model, lora=lora, url=llm_url)
    image_settings = options.image_settings(
        settings.image, size=size, no_metadata=False, model=image_model, steps=steps, cfg_scale=cfg,
        negative_prompt=negative, sampler=sampler, strength=None,
    )  # fmt: skip
    editor = Editor(make_llm_engine(llm, notice=note), GenerationOptions.from_settings(llm), warn)
    rows = [("(source)", text, "")] + [(i, *_edit(editor, text, i, image_settings.negative_prompt)) for i in asked]
    engine = make_image_engine(image_settings)
    cells = []
    for index, (label, prompt, _) in enumerate(rows, 1):
        note(f"rendering row {index}/{len(rows)}: {label}")
        requests = [RenderRequest.from_settings(image_settings, prompt, seed=seed) for seed in seeds]
        cells.append([engine.render(request).image for request in requests])
    sheet = contact_sheet(cells, [label for label, _, _ in rows], [f"seed {seed}" for seed in seeds])
    described = {"source_prompt": text, "seeds": seeds, "image_model": image_settings.model, "llm": editor.engine.name,
                 "rows": [{"instruction": label, "prompt": prompt, "script": script} for label, prompt, script in rows]}  # fmt: skip
    imaging.save_sheet(sheet, out, described)
    if as_json:
        print(json.dumps({**described, "image": str(out)}, ensure_ascii=False))
    else:
        print(out)


def _edit(editor, source: str, instruction: str, negative: str) -> tuple[str, str]:
    result = editor.edit(source, instruction, negative=negative)
    return result.target, result.script
