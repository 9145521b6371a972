"""Image scorers for the RL rewards (docs/design.md §6): LAION aesthetics, PickScore preference, CLIP integrity.

Each is a small class with a default hub id, a `tiny` variant built on the tiny CLIP of
engines/tiny.py, and a batched `score`. Only safetensors are loaded (a .pth head only with
torch.load(weights_only=True)) and trust_remote_code stays off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diffchat_tui.core.errors import ModelError
from diffchat_tui.core.text import first_line
from diffchat_tui.engines.hf import no_transformers_progress_bars, quiet_hf

DEFAULT_CLIP = "openai/clip-vit-large-patch14"
"""CLIP ViT-L/14: the embedding the LAION aesthetic head was trained on, and the integrity embedding."""
DEFAULT_AESTHETIC_HEAD = "trl-lib/ddpo-aesthetic-predictor/aesthetic-model.pth"
"""LAION improved aesthetic predictor (sac+logos+ava1, linear MSE), as REPO/FILE or a local file."""
DEFAULT_PICKSCORE = "yuvalkirstain/PickScore_v1"
DEFAULT_PICKSCORE_PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"

_LOADED: dict[tuple, object] = {}


def _hub_file(spec: str) -> Path:
    """A local file, or REPO_OWNER/REPO/FILE from the hub cache (downloaded when online)."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    repo, _, filename = spec.rpartition("/")
    if repo.count("/") != 1:
        raise ModelError(f"scorer weights not found: {spec} (a file, or OWNER/REPO/FILE on the hub)")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo, filename))
    except Exception as exc:  # offline, missing repo or file: one line either way
        raise ModelError(f"cannot get scorer weights {spec}: {first_line(exc)}") from None


def load_clip(spec: str, processor: str | None = None, device: str = "cpu"):
    """(CLIPModel, CLIPProcessor), loaded once per process and shared by every scorer using it."""
    key = (spec, processor, device)
    if key not in _LOADED:
        from transformers import CLIPModel, CLIPProcessor

        quiet_hf()
        no_transformers_progress_bars()
        try:
            model = CLIPModel.from_pretrained(spec, use_safetensors=True).to(device).eval()
            proc = CLIPProcessor.from_pretrained(processor or spec)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load CLIP scorer {spec}: {first_line(exc)}") from None
        _LOADED[key] = (model, proc)
    return _LOADED[key]


class _Clip:
    def __init__(self, spec: str, processor: str | None, device: str) -> None:
        self.spec, self.processor_spec, self.device = spec, processor, device

    @property
    def parts(self):
        return load_clip(self.spec, self.processor_spec, self.device)

    def images(self, images: Sequence):
        """L2-normalized image embeddings, one row per image."""
        import torch

        model, processor = self.parts
        with torch.inference_mode():
            pixels = processor(images=list(images), return_tensors="pt")["pixel_values"].to(self.device)
            embeds = model.get_image_features(pixel_values=pixels)
            embeds = getattr(embeds, "pooler_output", embeds)
        return torch.nn.functional.normalize(embeds.float(), dim=-1)

    def texts(self, texts: Sequence[str]):
        import torch

        model, processor = self.parts
        with torch.inference_mode():
            tokens = processor(text=list(texts), return_tensors="pt", padding=True, truncation=True, max_length=77)
            embeds = model.get_text_features(**{k: v.to(self.device) for k, v in tokens.items()})
            embeds = getattr(embeds, "pooler_output", embeds)
        return torch.nn.functional.normalize(embeds.float(), dim=-1)


def _aesthetic_mlp(width: int):
    """The LAION improved-aesthetic-predictor head; layer indices match its published state dict."""
    from torch import nn

    class AestheticMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.Sequential(
                nn.Linear(width, 1024), nn.Dropout(0.2), nn.Linear(1024, 128), nn.Dropout(0.2),
                nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16), nn.Linear(16, 1),
            )  # fmt: skip

        def forward(self, x):
            return self.layers(x)

    return AestheticMLP()


class AestheticScorer:
    """LAION aesthetic score (about 1 to 10) of each image: an MLP over normalized CLIP ViT-L/14 embeddings."""

    default_clip = DEFAULT_CLIP
    default_head = DEFAULT_AESTHETIC_HEAD

    def __init__(self, clip: str = DEFAULT_CLIP, head: str = DEFAULT_AESTHETIC_HEAD, device: str = "cpu", *, mlp=None) -> None:
        self.clip = _Clip(clip, None, device)
        self.head_spec, self.device, self._mlp = head, device, mlp

    @classmethod
    def tiny(cls, clip_dir: Path, seed: int = 0) -> AestheticScorer:
        """The tiny CLIP with a randomly initialised head sized to its embedding (tests, offline trials)."""
        import torch

        model, _ = load_clip(str(clip_dir))
        torch.manual_seed(seed)
        return cls(str(clip_dir), head="(random)", mlp=_aesthetic_mlp(model.config.projection_dim).eval())

    @property
    def mlp(self):
        if self._mlp is None:
            import torch

            file = _hub_file(self.head_spec)
            if file.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(file))
            elif file.suffix in (".pth", ".pt", ".bin"):
                try:
                    state = torch.load(file, map_location="cpu", weights_only=True)  # never unpickle code
                except Exception as exc:  # UnpicklingError for anything but plain tensors
                    raise ModelError(f"aesthetic head {file} is not a plain state dict: {first_line(exc)}") from None
            else:
                raise ModelError(f"aesthetic head {file} must be .safetensors or .pth")
            if not isinstance(state, dict) or "layers.0.weight" not in state:
                raise ModelError(f"aesthetic head {file} is not a LAION aesthetic MLP (no layers.0.weight)")
            mlp = _aesthetic_mlp(state["layers.0.weight"].shape[1])
            try:
                mlp.load_state_dict(state)
            except RuntimeError as exc:
                raise ModelError(f"aesthetic head {file} does not fit the LAION MLP: {first_line(exc)}") from None
            self._mlp = mlp.to(self.device).eval()
        return self._mlp

    def score(self, images: Sequence) -> list[float]:
        import torch

        embeds = self.clip.images(images)
        with torch.inference_mode():
            return [float(value) for value in self.mlp(embeds).squeeze(-1)]


class PreferenceScorer:
    """PickScore of each image against the user's intent (source prompt plus instruction), as a CLIP logit."""

    default_model = DEFAULT_PICKSCORE
    default_processor = DEFAULT_PICKSCORE_PROCESSOR

    def __init__(self, model: str = DEFAULT_PICKSCORE, processor: str | None = DEFAULT_PICKSCORE_PROCESSOR, device: str = "cpu") -> None:
        self.clip = _Clip(model, processor, device)

    @classmethod
    def tiny(cls, clip_dir: Path) -> PreferenceScorer:
        return cls(str(clip_dir), processor=None)

    def score(self, images: Sequence, intents: Sequence[str]) -> list[float]:
        import torch

        scale = self.clip.parts[0].logit_scale.exp().item()
        with torch.inference_mode():
            similarity = (self.clip.images(images) * self.clip.texts(intents)).sum(-1)
        return [scale * float(value) for value in similarity]


class IntegrityScorer:
    """CLIP image-image cosine between each source render and its target render (same seed)."""

    default_clip = DEFAULT_CLIP

    def __init__(self, clip: str = DEFAULT_CLIP, device: str = "cpu") -> None:
        self.clip = _Clip(clip, None, device)

    @classmethod
    def tiny(cls, clip_dir: Path) -> IntegrityScorer:
        return cls(str(clip_dir))

    def score(self, sources: Sequence, targets: Sequence) -> list[float]:
        if len(sources) != len(targets):
            raise ValueError("one source image per target image")
        return [float(value) for value in (self.clip.images(sources) * self.clip.images(targets)).sum(-1)]
