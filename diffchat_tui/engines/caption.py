"""Image → source prompt: the picture's own generation metadata first, a captioning model second."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from diffchat_tui.core.errors import BadInput, ModelError
from diffchat_tui.core.infotext import GenerationInfo
from diffchat_tui.core.seeds import seed_from_metadata
from diffchat_tui.core.text import MAX_SOURCE_CHARS, clean_user_text, first_line, strip_escapes
from diffchat_tui.engines.hf import no_transformers_progress_bars, quiet_hf
from diffchat_tui.engines.image_files import open_image
from diffchat_tui.engines.image_metadata import read_picture_info

if TYPE_CHECKING:
    from PIL.Image import Image

DEFAULT_CAPTION_MODEL = "Salesforce/blip-image-captioning-base"


@dataclass
class ImagePrompt:
    prompt: str
    how: str
    """`metadata:<format>` when the file said, `caption:<model>` when a model looked at it."""
    image: Image
    seed: int | None = None
    negative_prompt: str = ""
    info: GenerationInfo | None = None
    """Everything the metadata said (steps, CFG, sampler, size, ...), to carry over to the next render."""
    warnings: list[str] = field(default_factory=list)
    """What the caller should tell the user: a prompt cut to fit, escapes removed, a seed out of range."""


class Captioner:
    """A BLIP captioning model, loaded on first use."""

    def __init__(self, spec: str = DEFAULT_CAPTION_MODEL) -> None:
        self.spec = spec
        self._model = self._processor = None

    def load(self) -> None:
        if self._model is not None:
            return
        quiet_hf()
        from huggingface_hub.errors import LocalEntryNotFoundError
        from transformers import BlipForConditionalGeneration, BlipProcessor

        no_transformers_progress_bars()

        try:
            self._processor = BlipProcessor.from_pretrained(self.spec)
            self._model = BlipForConditionalGeneration.from_pretrained(self.spec, use_safetensors=True).eval()
        except (LocalEntryNotFoundError, OSError, ValueError) as exc:
            raise ModelError(
                f"no captioning model: cannot load {self.spec} ({first_line(exc, 120)}); "
                "give the prompt yourself, or --caption-model DIR"
            ) from None

    def caption(self, image: Image, max_new_tokens: int = 30) -> str:
        import torch

        self.load()
        inputs = self._processor(images=image.convert("RGB"), return_tensors="pt")
        with torch.inference_mode():
            ids = self._model.generate(**inputs, max_new_tokens=max_new_tokens)
        return self._processor.decode(ids[0], skip_special_tokens=True).strip()


def prompt_from_image(path: Path, captioner: Captioner | None = None) -> ImagePrompt:
    """The source prompt for a picture: what its metadata says, else what a captioner sees."""
    image, chunks = open_image(Path(path))
    info = read_picture_info(chunks)
    if info is not None:
        # The metadata is someone else's text: it gets the same checks, cuts and warnings as typed input.
        try:
            cleaned = clean_user_text(info.prompt, "the picture's prompt", MAX_SOURCE_CHARS, multiline=True)
        except BadInput as exc:
            raise BadInput(f"{path}: {exc}") from None
        warnings = list(cleaned.warnings)
        negative = strip_escapes(info.negative_prompt).strip()[:MAX_SOURCE_CHARS]
        seed = info.get_int("Seed")
        if seed is not None:
            seed, seed_warning = seed_from_metadata(seed)
            warnings += [seed_warning] if seed_warning else []
        return ImagePrompt(cleaned.text, f"metadata:{info.source}", image, seed, negative, info, warnings)
    captioner = captioner or Captioner()
    caption = captioner.caption(image)
    if not caption.strip():
        raise ModelError(f"{captioner.spec} gave an empty caption for {path}; give the prompt yourself")
    prompt = clean_user_text(caption, "caption", MAX_SOURCE_CHARS).text
    return ImagePrompt(prompt, f"caption:{captioner.spec}", image)
