"""diffusers txt2img and img2img over one warm set of weights."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from diffchat_tui.core.errors import BadInput, ModelError
from diffchat_tui.core.seeds import MAX_SEED
from diffchat_tui.core.text import first_line
from diffchat_tui.engines.cpu_share import holding
from diffchat_tui.engines.hf import no_transformers_progress_bars, quiet_hf
from diffchat_tui.engines.image import SAMPLERS, Progress, RenderCancelled, RenderRequest, RenderResult

DEFAULT_IMAGE_MODEL = "stabilityai/sd-turbo"
DEFAULTS_FILE = "diffchat.json"
"""A model folder may carry the steps and CFG that suit it, e.g. {"steps": 2, "cfg_scale": 0}."""
# Few-step distilled models want few steps and no classifier-free guidance.
TURBO_DEFAULTS = {"steps": 2, "cfg_scale": 0.0}
STANDARD_DEFAULTS = {"steps": 25, "cfg_scale": 7.0}


def pick_device(requested: str = "auto") -> tuple[str, str]:
    """(device, dtype name): CUDA fp16, then Apple MPS fp16, then CPU fp32."""
    import torch

    if requested != "auto":
        return requested, "float32" if requested == "cpu" else "float16"
    if torch.cuda.is_available():
        return "cuda", "float16"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps", "float16"
    return "cpu", "float32"


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "model_index.json"), str)
    except ValueError:  # not a valid repo id at all
        return False


def _no_model_message(spec: str) -> str:
    return (
        f"no image model: {spec} is not downloaded and could not be fetched; "
        "try `diffchat models make-tiny DIR` and --image-model DIR, or go online once"
    )


class DiffusersEngine:
    """Loads a pipeline once and keeps it; txt2img and img2img share its components."""

    def __init__(
        self,
        spec: str = DEFAULT_IMAGE_MODEL,
        *,
        device: str = "auto",
        single_file_config: str | None = None,
        attention_slicing: bool = False,
        cpu_offload: bool = False,
    ) -> None:
        self.spec = spec
        self.name = spec
        self.requested_device = device
        self.single_file_config = single_file_config
        self.attention_slicing = attention_slicing
        self.cpu_offload = cpu_offload
        self.device = self.dtype = ""
        self._txt2img = None
        self._img2img = None

    def _from_spec(self, dtype):
        import diffusers
        from huggingface_hub.errors import LocalEntryNotFoundError

        path = Path(self.spec).expanduser()
        try:
            if path.suffix == ".safetensors":
                if not path.is_file():
                    raise ModelError(f"image model file not found: {path}")
                config = self.single_file_config
                kwargs = {"config": config} if config else {}
                class_name = diffusers.DiffusionPipeline.load_config(config)["_class_name"] if config else None
                pipeline_class = getattr(diffusers, class_name or "StableDiffusionPipeline")
                return pipeline_class.from_single_file(str(path), dtype=dtype, **kwargs)
            if path.exists() and not (path / "model_index.json").is_file():
                raise ModelError(f"{path} is not a diffusers model folder (no model_index.json)")
            source = str(path) if path.exists() else self.spec
            return diffusers.AutoPipelineForText2Image.from_pretrained(source, dtype=dtype, use_safetensors=True)
        except (LocalEntryNotFoundError, OSError, ValueError) as exc:
            if not path.exists() and not _in_hub_cache(self.spec):
                raise ModelError(_no_model_message(self.spec)) from None
            raise ModelError(f"cannot load image model {self.spec}: {first_line(exc)}") from None

    def load(self) -> float:
        if self._txt2img is not None:
            return 0.0
        started = time.perf_counter()
        quiet_hf()
        import torch
        from diffusers import AutoPipelineForImage2Image

        no_transformers_progress_bars()

        self.device, self.dtype = pick_device(self.requested_device)
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()  # we draw our own step progress
        pipe = self._from_spec(getattr(torch, self.dtype))
        if self.attention_slicing:
            pipe.enable_attention_slicing()
        if self.cpu_offload and self.device == "cuda":
            pipe.enable_model_cpu_offload()
        else:
            pipe.to(self.device)
        self._txt2img = pipe
        self._img2img = AutoPipelineForImage2Image.from_pipe(pipe)  # same modules, no second copy
        for each in (self._txt2img, self._img2img):
            each.set_progress_bar_config(disable=True)
        self._default_scheduler = pipe.scheduler
        self._defaults = self._read_defaults()
        return time.perf_counter() - started

    @property
    def is_turbo(self) -> bool:
        return "turbo" in self.spec.lower() or "lcm" in self.spec.lower()

    def defaults(self) -> dict[str, int | float]:
        """Steps, CFG and size that suit this model when the user sets none (read once, at load)."""
        self.load()
        return self._defaults

    def _read_defaults(self) -> dict[str, int | float]:
        steps_cfg = TURBO_DEFAULTS if self.is_turbo else STANDARD_DEFAULTS
        own = Path(self.spec).expanduser() / DEFAULTS_FILE
        if own.is_file():  # the folder says what suits it (the tiny models do)
            steps_cfg = {**steps_cfg, **json.loads(own.read_text())}
        size = self._txt2img.unet.config.sample_size * self._txt2img.vae_scale_factor
        return {**steps_cfg, "width": size, "height": size}

    def _scheduler(self, sampler: str | None):
        if sampler is None:
            class_name = type(self._default_scheduler).__name__
            # Name it as A1111 would, so the infotext round-trips through other tools.
            names = [name for name, (cls, options) in SAMPLERS.items() if cls == class_name and not options]
            return self._default_scheduler, names[0] if names else class_name
        if sampler not in SAMPLERS:
            raise BadInput(f"unknown sampler {sampler!r}; choose from: {', '.join(SAMPLERS)}")
        import diffusers

        class_name, options = SAMPLERS[sampler]
        return getattr(diffusers, class_name).from_config(self._default_scheduler.config, **options), sampler

    def render(
        self, request: RenderRequest, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> RenderResult:
        import torch

        if not 0 <= request.seed <= MAX_SEED:  # torch's generator overflows from 2^63; callers resolve -1 first
            raise BadInput(f"seed {request.seed} is outside 0..{MAX_SEED}")
        self.load()
        defaults = self.defaults()
        filled = RenderRequest(
            **{**request.__dict__, **{key: value for key, value in defaults.items() if getattr(request, key) is None}}
        )
        scheduler, sampler_name = self._scheduler(filled.sampler)
        pipe = self._img2img if filled.init_image is not None else self._txt2img
        pipe.scheduler = scheduler
        # A CPU generator gives the same picture for a seed on every device.
        generator = torch.Generator("cpu").manual_seed(filled.seed)

        def on_step_end(pipeline, step, timestep, tensors):
            if cancel is not None and cancel.is_set():
                raise RenderCancelled()
            if progress is not None:
                progress(step + 1, pipeline.num_timesteps)
            return tensors

        arguments = dict(
            prompt=filled.prompt,
            negative_prompt=filled.negative_prompt or None,
            num_inference_steps=filled.steps,
            guidance_scale=filled.cfg_scale,
            generator=generator,
            callback_on_step_end=on_step_end,
        )
        if filled.init_image is not None:
            arguments |= {"image": filled.init_image.convert("RGB"), "strength": filled.strength}
        else:
            arguments |= {"width": filled.width, "height": filled.height}
        started = time.perf_counter()
        cores = torch.get_num_threads() if self.device == "cpu" else 0  # an edit meanwhile must not spin against it
        with torch.inference_mode(), holding(cores):
            image = pipe(**arguments).images[0]
        if filled.init_image is not None:
            filled.width, filled.height = image.size
        return RenderResult(
            image=image,
            request=filled,
            model=self.name,
            sampler=sampler_name,
            seconds=time.perf_counter() - started,
            extra={"rng": "CPU", "device": self.device, "dtype": self.dtype},
        )
