"""Typed settings: defaults < config.toml < DIFFCHAT_* environment < command-line flags."""

from __future__ import annotations

import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from diffchat_tui import paths
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.seeds import MAX_SEED


class LLMSettings(BaseModel):
    """The language model that rewrites prompts."""

    model_config = ConfigDict(extra="forbid")

    model: str = "embedded"
    """`embedded`, a path to a .gguf file, or a hub reference `OWNER/REPO/FILE.gguf`."""
    lora: str | None = None
    """Optional LoRA adapter GGUF applied on top of the model."""
    url: str | None = None
    """OpenAI-compatible server (llama-server, vLLM, Ollama); when set, no local model is loaded."""
    url_model: str | None = None
    """Model name sent to the server; the server's default when unset."""
    url_timeout: float = Field(60.0, gt=0, le=3600)
    """Seconds to wait for the server's next bytes (the first token included) before giving up; never retried."""
    prompt_format: Literal["auto", "fewshot-v1", "diffchat-v1", "diffchat-v2"] = "auto"
    """`auto` uses what the model declares in its GGUF metadata."""
    beautify: bool = True
    """Let the model add quality words (`masterpiece`, `sharp focus`, ...) on the first edit; off for tuned prompts."""
    retries: int = Field(2, ge=0, le=8)
    """Extra, sampled tries when the model's edit script does not apply cleanly."""
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    """0 is greedy: the same input gives the same prompt."""
    candidate_temperature: float = Field(0.8, ge=0.0, le=2.0)
    """Used for the extra candidates of `-n`, which must differ from the first."""
    seed: int = Field(0, ge=-1, le=MAX_SEED)
    """-1 picks one per run (and the pictures record the one picked)."""
    max_tokens: int = Field(96, ge=8, le=1024)
    n_ctx: int = Field(2048, ge=512)
    n_threads: int | None = Field(None, ge=1)
    """CPU threads; unset: decode on one for a small model (the embedded one runs as fast, and stays fast beside
    a CPU render or other busy processes) and on every core for a big one, and prefill each prompt on the cores
    idle when it starts. Set: exactly this many for both."""
    n_gpu_layers: int = -1
    """-1 offloads every layer when llama.cpp was built with GPU support."""
    prefix_cache: bool = True
    """Keep the KV state of the fixed prompt prefix in the cache dir, so a new process skips its prefill."""
    merge_embedded: bool = True
    """Run `embedded` as one merged file (built once in the cache dir); false applies the adapter at run time."""
    embedded_quant: Literal["q8_0", "q4_1"] = "q8_0"
    """The merged `embedded` model's weights: q8_0 answers most like the adapter at run time; q4_1 (GPTQ-rounded, built
    once in about two minutes) decodes as fast as the 4-bit base on CPUs where 8-bit is slower, and passes as many eval cases."""


class ImageSettings(BaseModel):
    """The diffusion model that renders target prompts, and how it runs."""

    model_config = ConfigDict(extra="forbid")

    model: str = "stabilityai/sd-turbo"
    """A hub id or diffusers folder, or a single-file .safetensors checkpoint (with single_file_config)."""
    single_file_config: str | None = None
    """A diffusers folder or hub id whose configs describe a single-file checkpoint."""
    caption_model: str = "Salesforce/blip-image-captioning-base"
    """Turns a picture without generation metadata into a source prompt."""
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    """auto: CUDA in fp16, then Apple MPS, then the CPU in fp32."""
    steps: int | None = Field(None, ge=1, le=200)
    """Unset: what suits the model (sd-turbo: 2)."""
    cfg_scale: float | None = Field(None, ge=0.0, le=30.0)
    width: int | None = Field(None, ge=64, le=4096, multiple_of=8)
    height: int | None = Field(None, ge=64, le=4096, multiple_of=8)
    sampler: str | None = None
    """An A1111 sampler name (Euler, Euler a, DPM++ 2M, DDIM, ...); unset keeps the model's own."""
    negative_prompt: str = ""
    strength: float = Field(0.5, ge=0.0, le=1.0)
    """img2img: how far a render may move away from the input picture."""
    attention_slicing: bool = False
    """Less GPU memory, a little slower."""
    cpu_offload: bool = False
    """Keep only the running part of the pipeline on a small GPU."""
    metadata: bool = True
    """Write A1111 `parameters` and our `diffchat` chunk into every PNG."""


class UISettings(BaseModel):
    """How things look in the terminal."""

    model_config = ConfigDict(extra="forbid")

    image_protocol: Literal["auto", "kitty", "sixel", "halfcell", "unicode", "off"] = "auto"
    """How pictures are drawn; auto asks the terminal."""
    render: bool = True
    """Render each new prompt in the TUI (toggle with F2); off is prompt-only mode."""
    candidates: int = Field(1, ge=1, le=8)
    """Above 1 the TUI offers that many targets per instruction and records which one you keep."""
    lock_seed: bool = True
    """Keep the seed across edits so each edit is compared like for like."""
    keys: dict[str, str] = {}
    """Key bindings by id, e.g. {undo = "ctrl+u"}; `diffchat` F1 lists the ids."""


class HistorySettings(BaseModel):
    """What diffchat remembers beyond the TUI's own sessions."""

    model_config = ConfigDict(extra="forbid")

    log: bool = True
    """Log every one-shot `diffchat edit` as a session, searchable with `diffchat history` (--no-log skips one run)."""


class Settings(BaseSettings):
    """Everything configurable. The file lives at `diffchat config path`."""

    model_config = SettingsConfigDict(env_prefix="DIFFCHAT_", env_nested_delimiter="__", extra="forbid")

    llm: LLMSettings = LLMSettings()
    image: ImageSettings = ImageSettings()
    ui: UISettings = UISettings()
    history: HistorySettings = HistorySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win; the file is looked up at call time so DIFFCHAT_HOME is honoured.
        toml = TomlConfigSettingsSource(settings_cls, toml_file=paths.config_file())
        return init_settings, env_settings, toml


def load_settings() -> Settings:
    """Read the settings, turning a broken file or variable into one line the user can act on."""
    file = paths.config_file()
    if file.exists() and not file.is_file():
        raise BadInput(f"{file} is not a file; settings go in a TOML file there")
    try:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{file}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{file} is not valid UTF-8 (byte {exc.start}); TOML files are UTF-8") from None
    except OSError as exc:
        raise BadInput(f"cannot read {file}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadInput(f"bad setting {where}: {first['msg']} (in {file} or DIFFCHAT_*)") from None
