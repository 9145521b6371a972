"""Teacher mode: an LLM rewords the builder's instructions, so phrasings go beyond the templates.

The target and checks stay the rule builder's, so they remain exact. A paraphrase is kept
only when it passes validation; otherwise the rule phrasing stays and the reason is counted.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from diffchat_tui.core.errors import DiffchatError, ModelError
from diffchat_tui.core.prompting import comparable
from diffchat_tui.core.text import MAX_INSTRUCTION_CHARS, one_line, strip_escapes
from diffchat_tui.engines.llm import ContextOverflow
from trainer.data.scene import setting_key, strip_article
from trainer.data.schema import PhraseIndex, Record
from trainer.data.vocab import Vocab, load_vocab

if TYPE_CHECKING:
    from diffchat_tui.engines.llm import LLMEngine
    from trainer.data.builder import Draft

TEACHER_SYSTEM = (
    "You reword requests that people send to an image editor. Reply with one new way to say the "
    "same request, in plain casual words. Keep every object, colour, style and place it names. "
    "Reply with the reworded request only."
)
TEACHER_EXAMPLES = (
    ("add a red umbrella", "put a red umbrella in the picture"),
    ("remove the seagulls", "take the seagulls out"),
    ("make it a watercolor painting", "could this be a watercolor painting"),
)
EXAMPLE_WORDS = frozenset({"red", "umbrella", "seagulls", "watercolor", "painting"})
"""Content of the worked examples: a small teacher pastes it into answers where it does not belong."""
MAX_TOKENS = 48
TEMPERATURE = 0.8
MAX_ERRORS_IN_A_ROW = 5
"""A teacher that fails this often in a row is down, not unlucky: stop instead of grinding on."""

_LABEL = re.compile(
    r"^\s*(?:(?:reworded|rephrased|paraphrased|rewritten|new)\s+)?(?:request|instruction|paraphrase|answer)\s*:\s*",
    re.IGNORECASE,
)
_WRAPPERS = "\"'`*“”‘’«» "
_NEGATIONS = {"no", "not", "dont", "doesnt", "never", "without", "isnt", "wont", "cant", "shouldnt", "nothing"}
"""A reworded request that gains one of these may now ask for the opposite ("don't remove the hat")."""


def make_teacher(spec: str) -> LLMEngine:
    """The engine for --teacher: an OpenAI-compatible server URL, or a model spec (a .gguf path, embedded, a hub file)."""
    from diffchat_tui.config import LLMSettings
    from diffchat_tui.engines.factory import make_llm_engine

    if spec.startswith(("http://", "https://")):
        settings = LLMSettings(url=spec)
    else:
        settings = LLMSettings(model=spec, prefix_cache=False)  # paraphrasing has no fixed prefix worth saving
    engine = make_llm_engine(settings)
    engine.load()
    return engine


def teacher_messages(instruction: str) -> list[dict[str, str]]:
    """The request for one paraphrase: the system text, worked examples, then the instruction."""
    messages = [{"role": "system", "content": TEACHER_SYSTEM}]
    for asked, reworded in TEACHER_EXAMPLES:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": reworded}]
    return [*messages, {"role": "user", "content": instruction}]


@cache
def content_phrases(vocab: Vocab) -> frozenset[str]:
    """Everything the vocabularies can name, as compared: a paraphrase must not bring in one its instruction lacks."""
    found: set[str] = set()
    for name, groups in vocab.words.items():
        if name in ("actions", "quality", "syntax"):
            continue
        for pools in groups.values():
            for entry in pools.pick(None):
                if isinstance(entry, dict):  # a mood, a negative ask, or a booru time's sky tags
                    found.update(filter(None, [entry.get("key") or entry.get("say") or entry.get("time"), *entry.get("cues", ())]))
                elif isinstance(entry, list):
                    continue
                elif name == "settings":
                    found.add(setting_key(entry))
                else:
                    found.add(strip_article(entry.replace("{colour} ", "")))
    return frozenset(comparable(phrase) for phrase in found if comparable(phrase))


def check_paraphrase(
    raw: str, original: str, mentions: Sequence[tuple[str, ...]], vocab: Vocab | None = None
) -> tuple[str | None, str]:
    """(the cleaned paraphrase, "ok") or (None, why it was rejected)."""
    if strip_escapes(raw) != raw:
        return None, "escape sequences"
    text = one_line(raw)
    previous = None
    while previous != text:  # labels and quotes can nest: 'Request: "..."'
        previous = text
        text = _LABEL.sub("", text).strip(_WRAPPERS)
    if not text:
        return None, "empty"
    if len(text) > min(MAX_INSTRUCTION_CHARS, 2 * len(original) + 40):
        return None, "too long"
    if comparable(text) == comparable(original):
        return None, "unchanged"
    index = PhraseIndex(text)
    if any(not any(index.has(form) for form in forms) for forms in mentions):
        return None, "lost the edited words"
    gained = set(comparable(text).split()) - set(comparable(original).split())
    if gained & _NEGATIONS:
        return None, "added a negation"
    if gained & EXAMPLE_WORDS:
        return None, "copied the examples"
    before = PhraseIndex(original)
    if any(index.has(phrase) and not before.has(phrase) for phrase in content_phrases(vocab or load_vocab())):
        return None, "named something new"
    return text, "ok"


@dataclass
class TeacherReport:
    """How teacher mode went: how many instructions were offered, kept, and rejected for which reason."""

    asked: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None

    def summary(self) -> str:
        reasons = ", ".join(f"{reason} {count}" for reason, count in self.rejected.most_common())
        line = f"teacher: {self.accepted} of {self.asked} instructions reworded"
        return line + (f"; kept the rule phrasing for {sum(self.rejected.values())} ({reasons})" if reasons else "")


def paraphrase(
    drafts: Sequence[Draft],
    engine: LLMEngine,
    *,
    seed: int,
    share: float = 1.0,
    vocab: Vocab | None = None,
    progress: Callable[[int], None] | None = None,
) -> TeacherReport:
    """Reword the last instruction of a seeded share of the drafts, in place; returns the accounting."""
    chooser = random.Random(f"diffchat-teacher:{seed}")
    report = TeacherReport()
    errors_in_a_row = 0
    for index, draft in enumerate(drafts):
        if progress is not None:
            progress(index + 1)
        if chooser.random() >= share:
            continue
        report.asked += 1
        original = draft.record.instruction
        try:
            pieces = engine.stream(
                teacher_messages(original),
                temperature=TEMPERATURE,
                seed=(seed * 1_000_003 + index) % 2**31,
                max_tokens=MAX_TOKENS,
                stop=["\n"],
            )
            raw = "".join(pieces)
        except (DiffchatError, ContextOverflow) as exc:
            report.rejected["teacher error"] += 1
            report.last_error = str(exc)
            errors_in_a_row += 1
            if errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                raise ModelError(f"the teacher failed {errors_in_a_row} times in a row: {exc}") from None
            continue
        errors_in_a_row = 0
        text, reason = check_paraphrase(raw, original, draft.mentions, vocab)
        if text is None:
            report.rejected[reason] += 1
            continue
        try:
            draft.record = Record.model_validate({**draft.record.to_json(), "instruction": text})
        except ValueError:
            report.rejected["invalid"] += 1
            continue
        report.accepted += 1
    return report
