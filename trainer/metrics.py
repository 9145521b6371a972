"""Text-side edit metrics: instruction compliance, preservation of the rest, and fluency guards.

Pure Python (no torch), so evaluation and the text-only RL reward (docs/design.md §6) share them.
Phrases are compared as whole words after core.prompting.comparable, the same way the data's
own checks are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from diffchat_tui.core.prompting import comparable
from trainer.data.builder import INSTRUCTION_WORDS
from trainer.data.schema import PhraseIndex, contains_exact

REQUEST_WORDS = INSTRUCTION_WORDS
"""Words of a request, not of a prompt (the builder keeps every target free of them): a target with one pasted the instruction."""
STOPWORDS = frozenset(
    "a an the and or of in on at with by for to from into onto over under near its it is are be this that".split()
)
ADDRESSING = frozenset("i id im ive me my we us our you your u it its this pls please want like prefer would could should can lets".split())
"""Words of a request spoken to someone: prompts describe a picture, they do not address anyone."""
ECHO_MIN_WORDS = 3
"""A run of this many instruction words, copied into the target, counts as echoed."""
REPEAT_NGRAM = 3
EXTRA_WORDS = 40
"""Length guard: a target may be this many words longer than its source (an edit adds a few, not a paragraph)."""


def _padded(text: str) -> str:
    return f" {comparable(text)} "


def has_phrase(text: str, phrase: str) -> bool:
    """Whether phrase (or one of its ` | ` alternatives) occurs in text as whole words, ignoring case and punctuation;
    written with A1111 syntax, it must occur as written (the data's checks read the same way: schema.PhraseIndex)."""
    return PhraseIndex(text).has(phrase)


def content_words(text: str) -> list[str]:
    return [word for word in comparable(text).split() if word not in STOPWORDS]


def _repeats(text: str) -> tuple[set[str], set[tuple[str, ...]]]:
    """The comma phrases and 3-word runs that a text says more than once."""
    phrases = [phrase for phrase in (comparable(p) for p in text.split(",")) if phrase]
    words = comparable(text).split()
    grams = [tuple(words[i : i + REPEAT_NGRAM]) for i in range(len(words) - REPEAT_NGRAM + 1)]
    return {p for p in phrases if phrases.count(p) > 1}, {g for g in grams if grams.count(g) > 1}


def is_repetitive(text: str, source: str = "") -> bool:
    """A comma phrase said twice, or a 3-word run that occurs twice, that the source did not already repeat."""
    phrases, grams = _repeats(text)
    known_phrases, known_grams = _repeats(source) if source else (set(), set())
    return bool(phrases - known_phrases or grams - known_grams)


def echoes_instruction(text: str, instruction: str, allowed: str = "") -> bool:
    """The target pasted the request: words of asking, or a run of 3 instruction words that speaks to the
    model (`i`, `you`, `it`, `please`, ...) and is not in `allowed`.

    `allowed` is text whose words may rightly appear (the source, the reference, the asked-for phrases), so
    "a seagull sitting on the post behind him" is not an echo of "add a seagull sitting on the post behind
    him" (that is the edit), but "I'd prefer the hat" is.
    """
    padded, allowed_padded = _padded(text), _padded(allowed)
    if any(f" {comparable(w)} " in padded and f" {comparable(w)} " not in allowed_padded for w in REQUEST_WORDS):
        return True
    words, permitted = comparable(instruction).split(), set(comparable(allowed).split()) | STOPWORDS
    for start in range(len(words) - ECHO_MIN_WORDS + 1):
        gram = words[start : start + ECHO_MIN_WORDS]
        if f" {' '.join(gram)} " in padded and set(gram) & ADDRESSING and sum(word not in permitted for word in gram) >= 2:
            return True
    return False


def token_f1(prediction: str, reference: str) -> float:
    """Bag-of-words F1 between two prompts (content words only)."""
    predicted, wanted = content_words(prediction), content_words(reference)
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum(min(predicted.count(word), wanted.count(word)) for word in set(predicted))
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def derived_checks(current: str, reference: str) -> tuple[list[str], list[str], list[str]]:
    """(include, exclude, keep) words when a record has no checks: what the reference added, dropped and kept.

    current is the beautified prompt before the edit, so beautification alone adds nothing to include.
    """
    before, after = set(content_words(current)), set(content_words(reference))
    ordered = list(dict.fromkeys(content_words(current) + content_words(reference)))
    include = [word for word in ordered if word in after and word not in before]
    exclude = [word for word in ordered if word in before and word not in after]
    keep = [word for word in ordered if word in before and word in after]
    return include, exclude, keep


@dataclass
class EditScore:
    """How one target prompt does on one edit. Fractions are in [0, 1]; None where nothing was asked."""

    include_rate: float | None
    """Share of the things asked for that are present."""
    exclude_rate: float | None
    """Share of the things to take away that are gone."""
    compliant: bool
    """Everything asked for is present and everything to take away is gone."""
    preservation: float | None
    """Share of the untouched source content that is still there."""
    repetitive: bool
    echoed: bool
    length_ok: bool
    words: int
    reference_f1: float | None = None
    syntax_total: int = 0
    """Pieces of A1111 syntax (and other text) the target must hold byte for byte."""
    syntax_kept: int = 0
    missing: list[str] = field(default_factory=list)
    leftover: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    """Untouched content that is gone, and byte-for-byte pieces that changed."""

    @property
    def fluent(self) -> bool:
        return self.length_ok and not self.repetitive and not self.echoed

    @property
    def intact(self) -> bool:
        """Every byte-for-byte piece survived."""
        return self.syntax_kept == self.syntax_total

    @property
    def passed(self) -> bool:
        """The whole job: the edit done, nothing else lost, syntax intact, and still a fluent prompt."""
        return self.compliant and self.preservation in (None, 1.0) and self.intact and self.fluent

    @property
    def compliance(self) -> float:
        """Partial credit: the mean of the include and exclude rates that apply (1 when nothing was asked)."""
        rates = [rate for rate in (self.include_rate, self.exclude_rate) if rate is not None]
        return sum(rates) / len(rates) if rates else 1.0

    def reward(self, weights: tuple[float, float, float] = (0.5, 0.3, 0.2)) -> float:
        """One number in [0, 1] for the text-only reward: compliance, preservation, fluency."""
        preservation = 1.0 if self.preservation is None else self.preservation
        w_c, w_p, w_f = weights
        return (w_c * self.compliance + w_p * preservation + w_f * float(self.fluent)) / (w_c + w_p + w_f)

    def as_dict(self) -> dict:
        return {**asdict(self), "fluent": self.fluent, "compliance": self.compliance, "passed": self.passed}


def score_edit(
    prediction: str,
    *,
    instruction: str,
    source: str = "",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    verbatim: Sequence[str] = (),
    syntax: Sequence[str] = (),
    exact_absent: Sequence[str] = (),
    negative: str = "",
    negative_include: Sequence[str] = (),
    negative_exclude: Sequence[str] = (),
    reference: str | None = None,
) -> EditScore:
    """Score a target prompt against what the edit asked for and what it should keep.

    keep phrases are matched as words; verbatim pieces (content a user wrote) and syntax pieces
    (`<lora:x:0.6>`, `(word:1.2)`) must be there byte for byte. exact_absent is text the edit had
    to change (an old weight). negative_include/negative_exclude check the negative prompt after the edit.
    """
    missing = [phrase for phrase in include if not has_phrase(prediction, phrase)]
    missing += [f"negative: {phrase}" for phrase in negative_include if not has_phrase(negative, phrase)]
    leftover = [phrase for phrase in exclude if has_phrase(prediction, phrase)]
    leftover += [piece for piece in exact_absent if contains_exact(prediction, piece)]
    leftover += [f"negative: {phrase}" for phrase in negative_exclude if has_phrase(negative, phrase)]
    lost = [phrase for phrase in keep if not has_phrase(prediction, phrase)]
    lost += [piece for piece in verbatim if piece not in prediction]
    lost_content = len(lost)
    lost += [piece for piece in syntax if not contains_exact(prediction, piece)]
    words = len(prediction.split())
    allowed = " , ".join([source, reference or "", *include])
    asked = len(include) + len(exclude) + len(exact_absent) + len(negative_include) + len(negative_exclude)
    include_total, exclude_total = len(include) + len(negative_include), len(exclude) + len(exact_absent) + len(negative_exclude)
    wanted = len(keep) + len(verbatim)
    return EditScore(
        include_rate=1 - len(missing) / include_total if include_total else None,
        exclude_rate=1 - len(leftover) / exclude_total if exclude_total else None,
        compliant=words > 0 and not missing and not leftover and (asked > 0 or prediction.strip() != source.strip()),
        preservation=1 - lost_content / wanted if wanted else None,
        repetitive=is_repetitive(prediction, source),
        echoed=echoes_instruction(prediction, instruction, allowed),
        length_ok=0 < words <= len(source.split()) + EXTRA_WORDS,
        words=words,
        reference_f1=token_f1(prediction, reference) if reference is not None else None,
        syntax_total=len(syntax),
        syntax_kept=len(syntax) - (len(lost) - lost_content),
        missing=missing,
        leftover=leftover,
        lost=lost,
    )


def score_record(prediction: str, record, negative: str = "") -> EditScore:
    """Score against an InstructPE record: its checks when it has them, else what its reference target changed."""
    reference = record.beautified_target_prompt
    current = record.history[-1].target if record.history else record.source_prompt
    if record.checks is not None:
        checks = record.checks
        return score_edit(
            prediction, instruction=record.instruction, source=current, include=checks.must_include,
            exclude=checks.must_exclude, keep=checks.keep, syntax=checks.exact, exact_absent=checks.exact_absent,
            negative=negative, negative_include=checks.negative_include, negative_exclude=checks.negative_exclude,
            reference=reference,
        )  # fmt: skip
    before = record.history[-1].target if record.history else record.beautified_source_prompt
    include, exclude, keep = derived_checks(before, reference)
    return score_edit(
        prediction, instruction=record.instruction, source=current, include=include, exclude=exclude, keep=keep, reference=reference
    )


SUMMARY_KEYS = (
    "passed", "compliant", "compliance", "preservation", "syntax_kept", "fluent", "echoed", "repetitive", "length_ok",
    "reference_f1", "empty",
)  # fmt: skip


CI_KEYS = ("passed", "compliant", "fluent")
"""Shares reported with a bootstrap 95 % interval: with a few hundred records, a few points are noise."""


def bootstrap_ci(values: Sequence[float], resamples: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of the mean over resamples drawn with replacement (seeded: reports repeat)."""
    import random

    if not values:
        return None
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return round(means[int(0.025 * resamples)], 4), round(means[int(0.975 * resamples) - 1], 4)


def summarize(scores: Iterable[EditScore]) -> dict[str, float | int | None]:
    """Means over a group of scores (booleans as shares); None-valued parts are averaged where they apply."""
    scores = list(scores)
    summary: dict[str, float | int | None] = {"n": len(scores)}
    for key in SUMMARY_KEYS:
        if key == "syntax_kept":  # over all pieces, not per record: "100 % of untouched syntax survives"
            total = sum(score.syntax_total for score in scores)
            summary[key] = round(sum(score.syntax_kept for score in scores) / total, 4) if total else None
            continue
        if key == "empty":
            values = [float(score.words == 0) for score in scores]
        else:
            values = [getattr(score, key) for score in scores]
            values = [float(value) for value in values if value is not None]
        summary[key] = round(sum(values) / len(values), 4) if values else None
        if key in CI_KEYS:
            summary[f"{key}_ci"] = bootstrap_ci(values)
    return summary

