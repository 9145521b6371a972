"""A labelled grid of renders: candidates side by side, or instructions × seeds (A1111's X/Y plot, for edits)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MARGIN = 6


def contact_sheet(
    cells: Sequence[Sequence[Image.Image]], row_labels: Sequence[str], column_labels: Sequence[str]
) -> Image.Image:
    """One picture: a header row of column labels, then each row's label and its renders, all cells the first one's size."""
    font = ImageFont.load_default()
    width, height = cells[0][0].size
    label_width = max(120, width) if any(row_labels) else 0
    line = font.getbbox("Ag")[3] + 2
    wrap = max(10, label_width // max(1, int(font.getlength("x"))) - 2)
    header = line * 2 + MARGIN
    columns = max(len(row) for row in cells)
    sheet = Image.new("RGB", (label_width + columns * (width + MARGIN) + MARGIN, header + len(cells) * (height + MARGIN)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for index, label in enumerate(column_labels):
        x = label_width + MARGIN + index * (width + MARGIN)
        draw.text((x, MARGIN), textwrap.shorten(label, width=max(8, width // 6), placeholder="…"), fill=INK, font=font)
    for row_index, (row, label) in enumerate(zip(cells, row_labels, strict=True)):
        y = header + row_index * (height + MARGIN)
        for line_index, text in enumerate(textwrap.wrap(label, wrap)[: max(1, height // line)]):
            draw.text((MARGIN, y + line_index * line), text, fill=INK, font=font)
        for index, image in enumerate(row):
            cell = image if image.size == (width, height) else image.resize((width, height))
            sheet.paste(cell.convert("RGB"), (label_width + MARGIN + index * (width + MARGIN), y))
    return sheet
