"""RL rewards (docs/design.md §6): aesthetics, preference against the user's intent, content integrity, and text.

The image scorers live in trainer/rl/image_scorers.py. `RewardModel` scores the candidates of one
request; `combine` normalizes each term over them and weights them into R.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from diffchat_tui.config import ImageSettings
from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import TRAINED_FORMAT, Answer, PromptFormat, Turn, read_answer
from diffchat_tui.engines.factory import make_image_engine
from diffchat_tui.engines.image import ImageEngine, RenderRequest
from diffchat_tui.engines.image_diffusers import pick_device
from trainer.metrics import derived_checks, score_edit
from trainer.rl.image_scorers import (
    DEFAULT_AESTHETIC_HEAD,
    DEFAULT_CLIP,
    DEFAULT_PICKSCORE,
    DEFAULT_PICKSCORE_PROCESSOR,
    AestheticScorer,
    IntegrityScorer,
    PreferenceScorer,
)

TERMS = ("aesthetic", "preference", "integrity", "text", "validity", "brevity")
DEFAULT_WEIGHTS = {"aesthetic": 1.0, "preference": 1.0, "integrity": 1.0, "text": 1.0, "validity": 1.0, "brevity": 0.2}
NOISE_FLOORS = {"aesthetic": 0.25, "preference": 0.5, "integrity": 0.05, "text": 0.1, "validity": 0.25, "brevity": 0.05}
"""Smallest spread per term treated as signal: candidates closer than this are normalized as near-ties."""
BREVITY_WORDS = 40
"""A script this many words long (or longer) scores 0 on brevity; an empty one would score 1 but applies nothing."""
TEXT_WEIGHTS = (0.5, 0.0, 0.2)
"""EditScore.reward weights for the text term: compliance and fluency (preservation is the integrity term)."""


@dataclass(frozen=True)
class Request:
    """One edit to sample and score: the conversation so far, the instruction, and what it asks for."""

    source: str
    instruction: str
    history: tuple[Turn, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    reference: str | None = None
    """The dataset's target prompt, when there is one."""
    reference_script: str | None = None
    """What the model should say for the reference: its script (for the script layout)."""
    negative: str = ""
    """The negative prompt the source came with."""
    exact: tuple[str, ...] = ()
    """Untouched syntax the target must keep byte for byte (`<lora:...>`, `(word:1.2)`)."""

    @property
    def current(self) -> str:
        """The prompt the instruction applies to: the last target, or the source on the first turn."""
        return self.history[-1].target if self.history else self.source

    @property
    def current_negative(self) -> str:
        return self.history[-1].negative if self.history else self.negative

    def answer(self, completion: str, fmt: PromptFormat = TRAINED_FORMAT) -> Answer:
        """What the model said, read exactly as inference reads it, against this request's current prompt."""
        return read_answer(completion, self.current, fmt, self.instruction, negative=self.current_negative)

    @property
    def intent(self) -> str:
        """What the user wants, in their words: PickScore compares images with this, never with the candidate."""
        return f"{self.current}, {self.instruction}"

    @property
    def key(self) -> str:
        fields = [self.source, self.instruction, [(t.instruction, t.target) for t in self.history]]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]

    @classmethod
    def from_record(cls, record) -> Request:
        """An InstructPE record: its checks when it has them, else what its reference changed."""
        from trainer.data.sft_format import conversation

        source, negative, turns, script = conversation(record)
        history = tuple(turns)
        if record.checks is not None:
            checks = (record.checks.must_include, record.checks.must_exclude, record.checks.keep)
        else:
            before = history[-1].target if history else source
            checks = derived_checks(before, record.beautified_target_prompt)
        include, exclude, keep = (tuple(part) for part in checks)
        exact = tuple(record.checks.exact) if record.checks is not None else ()
        return cls(source, record.instruction, history, include, exclude, keep, record.beautified_target_prompt, script, negative, exact)


# -- text and script terms ------------------------------------------------------------------------

class TextScorer:
    """The text-only reward from trainer.metrics: compliance + fluency guards, and preservation for integrity."""

    def score(self, request: Request, targets: Sequence[str]) -> list[tuple[float, float]]:
        """(text term, preservation) per target; preservation counts untouched syntax kept byte for byte, and
        is 1 when the request names nothing to keep."""
        out = []
        for target in targets:
            edit = score_edit(
                target, instruction=request.instruction, source=request.current, include=request.include,
                exclude=request.exclude, keep=request.keep, syntax=request.exact, reference=request.reference,
            )  # fmt: skip
            kept = 1.0 if edit.preservation is None else edit.preservation
            if edit.syntax_total:
                kept *= edit.syntax_kept / edit.syntax_total
            out.append((edit.reward(TEXT_WEIGHTS), kept))
        return out


def script_terms(request: Request, completion: str) -> dict[str, float]:
    """What the answer itself earns: validity (1 applies cleanly, 0.5 partly, 0 not at all) and brevity."""
    answer = request.answer(completion)
    applied = bool(answer.script)
    validity = 1.0 if answer.clean else 0.5 if applied else 0.0
    return {"validity": validity, "brevity": max(0.0, 1.0 - len(completion.split()) / BREVITY_WORDS)}


# -- combining --------------------------------------------------------------------------------------


def normalize(values: Sequence[float], floor: float) -> list[float]:
    """z-scores over one request's candidates; the spread is floored so near-ties stay near 0, not ±1."""
    if not values:
        return []
    mean = sum(values) / len(values)
    spread = (sum((value - mean) ** 2 for value in values) / len(values)) ** 0.5
    return [(value - mean) / max(spread, floor) for value in values]


def combine(terms: Sequence[dict[str, float]], weights: dict[str, float], floors: dict[str, float] = NOISE_FLOORS) -> list[float]:
    """R = Σ w_t · normalize(term t) over the candidates of one request; terms nobody measured count 0."""
    totals = [0.0] * len(terms)
    for name in TERMS:
        weight = weights.get(name, 0.0)
        if not weight or not terms or any(name not in row for row in terms):
            continue
        for index, value in enumerate(normalize([row[name] for row in terms], floors.get(name, 1e-6))):
            totals[index] += weight * value
    return totals


@dataclass
class RewardModel:
    """Every reward term for the candidates of one request. Image terms need an image engine and scorers."""

    text: TextScorer = field(default_factory=TextScorer)
    aesthetic: AestheticScorer | None = None
    preference: PreferenceScorer | None = None
    integrity: IntegrityScorer | None = None
    image_engine: ImageEngine | None = None
    """None is the text-only mode."""
    image_settings: ImageSettings = field(default_factory=ImageSettings)
    """What every render asks for besides prompt and seed (the engine's own defaults unless set)."""
    seed: int = 0
    """One seed for the source render and every candidate's render, so differences come from the prompt."""
    _source_images: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def uses_images(self) -> bool:
        return self.image_engine is not None

    def identity(self) -> str:
        """What the scores depend on, so cached scores from another setup are not reused."""
        parts = ["text", TEXT_WEIGHTS]
        if self.uses_images:
            parts += [getattr(self.image_engine, "name", "?"), self.seed]
            for scorer in (self.aesthetic, self.preference, self.integrity):
                parts.append(None if scorer is None else (type(scorer).__name__, scorer.clip.spec, getattr(scorer, "head_spec", "")))
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]

    def render(self, prompt: str):
        request = RenderRequest.from_settings(self.image_settings, prompt, seed=self.seed)
        return self.image_engine.render(request).image

    def source_image(self, request: Request):
        if request.key not in self._source_images:
            self._source_images[request.key] = self.render(request.current)
        return self._source_images[request.key]

    def terms(self, request: Request, targets: Sequence[str]) -> list[dict[str, float]]:
        """Raw term values per target: text, integrity (the gate's C), and the image terms when images are on."""
        rows = [{"text": text, "integrity": kept, "preservation": kept} for text, kept in self.text.score(request, targets)]
        if not self.uses_images or not targets:
            return rows
        images = [self.render(target) if target else None for target in targets]
        blank = self.render("")  # an empty candidate is scored as what SD makes of nothing
        images = [image if image is not None else blank for image in images]
        if self.aesthetic is not None:
            for row, value in zip(rows, self.aesthetic.score(images)):
                row["aesthetic"] = value
        if self.preference is not None:
            for row, value in zip(rows, self.preference.score(images, [request.intent] * len(images))):
                row["preference"] = value
        if self.integrity is not None:
            source = self.source_image(request)
            for row, value in zip(rows, self.integrity.score([source] * len(images), images)):
                row["image_cosine"] = value
                row["integrity"] = (value + row["preservation"]) / 2  # image side and text side, both in [0, 1]
        return rows


def build_reward_model(
    *, image_model: str | None, clip: str | None = None, aesthetic_head: str | None = None,
    preference_model: str | None = None, preference_processor: str | None = None,
    tiny_scorers: str | None = None, seed: int = 0, device: str = "auto",
) -> RewardModel:  # fmt: skip
    """Text-only without an image model; otherwise the three image scorers (tiny ones from a tiny CLIP folder)."""
    if not image_model:
        return RewardModel()
    try:
        settings = ImageSettings(model=image_model, device=device)
    except ValidationError:
        raise BadInput(f"image device {device!r}: choose auto, cuda, mps or cpu") from None
    engine = make_image_engine(settings)
    engine.load()
    if tiny_scorers:
        clip_dir = Path(tiny_scorers)
        if not (clip_dir / "config.json").is_file():
            raise BadInput(f"tiny scorer folder {clip_dir} has no CLIP model (config.json)")
        return RewardModel(
            aesthetic=AestheticScorer.tiny(clip_dir, seed), preference=PreferenceScorer.tiny(clip_dir),
            integrity=IntegrityScorer.tiny(clip_dir), image_engine=engine, image_settings=settings, seed=seed,
        )  # fmt: skip
    scorer_device = pick_device(device)[0]
    clip = clip or DEFAULT_CLIP
    return RewardModel(
        aesthetic=AestheticScorer(clip, aesthetic_head or DEFAULT_AESTHETIC_HEAD, scorer_device),
        preference=PreferenceScorer(preference_model or DEFAULT_PICKSCORE, preference_processor or DEFAULT_PICKSCORE_PROCESSOR, scorer_device),
        integrity=IntegrityScorer(clip, scorer_device),
        image_engine=engine,
        image_settings=settings,
        seed=seed,
    )
