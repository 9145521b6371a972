"""Tiny random-weight models, saved like real ones: for tests and for trying diffchat with no model hub.

`build_tiny_models(DIR)` writes a Stable Diffusion pipeline at DIR (64x64, 2 steps, ~0.1 s a
render on a CPU), a BLIP captioner at DIR/captioner and a CLIP model at DIR/clip. The pictures
and captions are noise: the point is that every real code path runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffchat_tui.engines.hf import no_transformers_progress_bars, quiet_hf
from diffchat_tui.engines.image_diffusers import DEFAULTS_FILE

# Words the tiny BPE tokenizers know whole; anything else is spelled out byte by byte.
WORDS = (
    "a an the of on in with and at by to photo portrait painting cat dog man woman house car tree sky "
    "night day city neon cyberpunk red blue green gold black white sofa lake forest street rain snow "
    "sunset light dark old young small big beautiful detailed style art oil watercolor umbrella"
).split()
TINY_DEFAULTS = {"steps": 2, "cfg_scale": 0.0}


def _byte_alphabet() -> list[str]:
    """Byte-level BPE's printable stand-in for each of the 256 byte values, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(byte if byte in printable else next(extra)) for byte in range(256)]


def write_clip_tokenizer(folder: Path) -> int:
    """vocab.json + merges.txt in CLIP's format; returns the vocabulary size."""
    alphabet = _byte_alphabet()
    vocab: dict[str, int] = {}
    for token in alphabet + [char + "</w>" for char in alphabet]:
        vocab.setdefault(token, len(vocab))
    merges: list[str] = []
    for word in WORDS:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:  # merge left to right; every merge result joins the vocabulary
            merged = pieces[0] + pieces[1]
            if f"{pieces[0]} {pieces[1]}" not in merges:
                merges.append(f"{pieces[0]} {pieces[1]}")
            vocab.setdefault(merged, len(vocab))
            pieces = [merged] + pieces[2:]
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return len(vocab)


def _clip_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    write_clip_tokenizer(folder)
    # In transformers 5 the constructor ignores vocab/merges file arguments; from_pretrained reads them.
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def _text_config(tokenizer, **extra):
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        **extra,
    )


def build_tiny_sd(folder: Path, seed: int = 0) -> Path:
    """A Stable Diffusion pipeline with random weights, 64x64, saved as safetensors."""
    _quiet()
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer(folder / "_tokenizer_src")
    unet = UNet2DConditionModel(
        sample_size=32,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        sample_size=64,
        norm_num_groups=32,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(**_text_config(tokenizer, projection_dim=32)))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    _remove_tree(folder / "_tokenizer_src")
    (folder / DEFAULTS_FILE).write_text(json.dumps(TINY_DEFAULTS))
    return folder


def build_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A CLIP model and processor (32x32 images) for the aesthetic, preference and integrity scorers."""
    _quiet()
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer(folder / "_tokenizer_src")
    vision = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, image_size=32, patch_size=8)
    model = CLIPModel(CLIPConfig(text_config=_text_config(tokenizer), vision_config=vision, projection_dim=32))
    size = {"shortest_edge": 32}
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size=size, crop_size={"height": 32, "width": 32}), tokenizer=tokenizer
    )
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    _remove_tree(folder / "_tokenizer_src")
    return folder


def build_tiny_captioner(folder: Path, seed: int = 0) -> Path:
    """A BLIP image-captioning model and processor (32x32 images) with a small WordPiece vocabulary."""
    _quiet()
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    torch.manual_seed(seed)
    source = folder / "_tokenizer_src"
    source.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    (source / "vocab.txt").write_text("\n".join(specials + sorted(set(WORDS))) + "\n")
    tokenizer = BertTokenizer.from_pretrained(source, bos_token="[DEC]")
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        max_position_embeddings=64,
        bos_token_id=tokenizer.convert_tokens_to_ids("[DEC]"),
        pad_token_id=tokenizer.pad_token_id,
        sep_token_id=tokenizer.sep_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    vision = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, image_size=32, patch_size=8)
    model = BlipForConditionalGeneration(BlipConfig(text_config=text, vision_config=vision, projection_dim=32))
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    _remove_tree(source)
    return folder


def build_tiny_models(folder: Path, seed: int = 0) -> dict[str, Path]:
    """All three, laid out so `--image-model DIR` and `--caption-model DIR/captioner` load them."""
    folder = Path(folder)
    return {
        "image": build_tiny_sd(folder, seed),
        "captioner": build_tiny_captioner(folder / "captioner", seed),
        "clip": build_tiny_clip(folder / "clip", seed),
    }


def _quiet() -> None:
    quiet_hf()
    no_transformers_progress_bars()


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
