"""`diffchat train rl`: DPO on ADM-sampled, CI-gated pairs (default), or online GRPO on the same rewards.

A config sets our `RlArguments`, TRL's `DPOConfig` or `GRPOConfig`, and TRL's `ModelConfig`. Keys
for one algorithm only go under a `dpo:` or `grpo:` section; flags override the file. The run
folder looks like an SFT run (diffchat_run.json, adapter or model), so `train export` works on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffchat_tui.core.errors import BadInput
from diffchat_tui.core.prompting import SCRIPT_FORMATS, TRAINED_FORMAT, build_messages
from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from trainer.jobs import checkpoint_to_resume, load_training_records, options_checked, parse_options, write_run_info
from trainer.rl.adm_grpo import adm_trainer_class
from trainer.rl.online import GroupRewards
from trainer.rl.pairs import dpo_pairs, load_preference_file, score_all
from trainer.rl.policy import resolve_policy, sampler_model
from trainer.rl.rewards import Request, build_reward_model
from trainer.rl.sampling import ActionSpaces, SamplingConfig, default_quality_words, sample_all

ALGOS = ("dpo", "grpo")


@dataclass
class RlArguments:
    """Our own config keys, next to TRL's."""

    train_file: str | None = field(default=None, metadata={"help": "InstructPE records to sample from, or a prefs JSONL of DPO rows."})
    max_requests: int | None = field(default=None, metadata={"help": "Use only the first N (non-held-out) records."})
    resume: bool = field(default=False, metadata={"help": "Continue from the last checkpoint in output_dir."})
    sampler_model: str | None = field(default=None, metadata={"help": "GGUF spec to sample with (default: the policy's own GGUF)."})
    k_plain: int = field(default=2, metadata={"help": "Plain samples per request."})
    k_positive: int = field(default=2, metadata={"help": "Samples in the positive (ADM) action space."})
    k_negative: int = field(default=2, metadata={"help": "Samples in the negative (ADM) action space."})
    sample_temperature: float = field(default=0.8, metadata={"help": "Sampling temperature for the off-policy pool."})
    include_boost: float = field(default=4.0, metadata={"help": "ADM logit bias for asked-for words (positive space)."})
    weight_aesthetic: float = field(default=1.0, metadata={"help": "w_a"})
    weight_preference: float = field(default=1.0, metadata={"help": "w_p"})
    weight_integrity: float = field(default=1.0, metadata={"help": "w_c"})
    weight_text: float = field(default=1.0, metadata={"help": "Weight of the text term (compliance + fluency)."})
    weight_validity: float = field(default=1.0, metadata={"help": "Weight of script validity (it applies cleanly)."})
    weight_brevity: float = field(default=0.2, metadata={"help": "Weight of brevity (a short script)."})
    adm: bool = field(default=True, metadata={"help": "GRPO: draw part of each group in the positive and negative action spaces."})
    ci_threshold: float = field(default=0.6, metadata={"help": "τ: a candidate with content integrity below it takes the request's minimum value."})
    ci_gate: bool = field(default=True, metadata={"help": "GRPO: advantages on the gated value V (else TRL weights the terms)."})
    pair_margin: float = field(default=0.5, metadata={"help": "δ: least value gap between chosen and rejected."})
    image_model: str | None = field(default=None, metadata={"help": "Diffusers model for image rewards; unset = text-only mode."})
    clip_model: str | None = field(default=None, metadata={"help": "CLIP for aesthetics and integrity (default ViT-L/14)."})
    aesthetic_head: str | None = field(default=None, metadata={"help": "Aesthetic MLP weights: file or OWNER/REPO/FILE."})
    preference_model: str | None = field(default=None, metadata={"help": "PickScore model id or folder."})
    preference_processor: str | None = field(default=None, metadata={"help": "PickScore processor id or folder."})
    tiny_scorers: str | None = field(default=None, metadata={"help": "A tiny CLIP folder: random-weight scorers for trials."})
    render_seed: int = field(default=0, metadata={"help": "The seed every render of a request shares."})
    image_device: str = field(default="auto", metadata={"help": "Device for rendering and scoring: auto, cuda, mps or cpu."})

    def weights(self) -> dict[str, float]:
        return {"aesthetic": self.weight_aesthetic, "preference": self.weight_preference, "integrity": self.weight_integrity,
                "text": self.weight_text, "validity": self.weight_validity, "brevity": self.weight_brevity}  # fmt: skip


@dataclass
class RlJob:
    algo: str
    rl: RlArguments
    training: Any
    model: Any


def parse_job(algo: str, config: Path | None, overrides: Sequence[str] = ()) -> RlJob:
    """Common keys, then the algorithm's section, then flags; a key neither TRL nor we know is one BadInput line."""
    from trl import DPOConfig, GRPOConfig, ModelConfig

    if algo not in ALGOS:
        raise BadInput(f"--algo {algo}: choose dpo or grpo")
    kinds = (RlArguments, DPOConfig if algo == "dpo" else GRPOConfig, ModelConfig)
    rl, training, model = parse_options(kinds, config, overrides, sections=ALGOS, section=algo,
                                        hint="put algorithm-only keys under dpo: or grpo:")  # fmt: skip
    if rl.train_file is None:
        raise BadInput("no training data: set train_file in the config or pass --data FILE")
    if training.output_dir is None:
        raise BadInput("no output folder: set output_dir in the config or pass --output_dir DIR")
    return RlJob(algo, rl, training, model)


def _say(message: str) -> None:
    print(f"diffchat: {message}", file=sys.stderr, flush=True)


def _ticker(label: str):
    """A progress callback that prints a line every 10% (works under nohup and in CI logs)."""
    state = {"shown": -1}

    def tick(done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth != state["shown"] or done == total:
            state["shown"] = tenth
            _say(f"{label}: {done}/{total}")

    return tick


def reward_model_for(rl: RlArguments):
    return build_reward_model(
        image_model=rl.image_model, clip=rl.clip_model, aesthetic_head=rl.aesthetic_head,
        preference_model=rl.preference_model, preference_processor=rl.preference_processor,
        tiny_scorers=rl.tiny_scorers, seed=rl.render_seed, device=rl.image_device,
    )  # fmt: skip


def off_policy_pairs(job: RlJob, policy, out: Path, requests: list) -> list[dict]:
    """ADM sampling through llama.cpp, rewards, the CI-gated value, and best-vs-worst pairs (all cached in out)."""
    from trainer.rl.summary import summarize_pools  # imports transformers

    rl = job.rl
    config = SamplingConfig(
        k_plain=rl.k_plain, k_positive=rl.k_positive, k_negative=rl.k_negative, temperature=rl.sample_temperature,
        include_boost=rl.include_boost, seed=job.training.seed, quality_words=default_quality_words(),
    )  # fmt: skip
    engine = LlamaCppEngine(sampler_model(policy, out, rl.sampler_model), prefix_cache=False)
    _say(f"sampling {len(requests)} requests with {engine.name} (ADM: {rl.k_plain} plain, {rl.k_positive} positive, {rl.k_negative} negative)")
    pools = sample_all(engine, requests, config, out / "samples.jsonl", _ticker("sampled"))
    engine.unload()  # free llama.cpp before training starts
    model = reward_model_for(rl)
    _say("scoring " + ("text-only" if not model.uses_images else f"with images from {rl.image_model}"))
    scored = score_all(pools, model, rl.weights(), rl.ci_threshold, out / "scores.jsonl", _ticker("scored"))
    rows, notes = dpo_pairs(scored, rl.pair_margin)
    summary = summarize_pools(scored, len(rows))
    (out / "pairs.jsonl").write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes), encoding="utf-8")
    (out / "samples_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _say(f"{len(rows)} pairs from {len(scored)} requests (margin {rl.pair_margin}); per space: {summary['spaces']}")
    return rows


def _load_policy(job: RlJob, out: Path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import get_peft_config

    policy = resolve_policy(job.model.model_name_or_path, out)
    model = AutoModelForCausalLM.from_pretrained(policy.base, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(policy.base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    peft_config = None
    if policy.adapter is not None:  # continue the SFT adapter, so export stays "base GGUF + adapter"
        model = PeftModel.from_pretrained(model, str(policy.adapter), is_trainable=True)
    elif job.model.use_peft:
        peft_config = get_peft_config(job.model)
    return policy, model, tokenizer, peft_config


def train(job: RlJob) -> Path:
    """Run the job; returns the run folder (final adapter or model, checkpoints, rewards.png, caches)."""
    from accelerate import PartialState
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback

    from trainer.callbacks import LossPlot, RichProgress  # imports transformers
    from trainer.rl.summary import RewardPlot

    rl, training = job.rl, job.training
    out = Path(training.output_dir)
    checkpoint = checkpoint_to_resume(out, rl.resume)
    data = Path(rl.train_file)
    if not data.is_file():
        raise BadInput(f"data file not found: {data}")
    state = PartialState()
    out.mkdir(parents=True, exist_ok=True)
    with state.main_process_first():  # one process imports the adapter and samples; the others find the caches
        policy, model, tokenizer, peft_config = _load_policy(job, out)
        preference_rows = load_preference_file(data)
        requests = [] if preference_rows is not None else [Request.from_record(r) for r in load_training_records(data, rl.max_requests)[0]]
        if job.algo == "dpo":
            rows = preference_rows if preference_rows is not None else off_policy_pairs(job, policy, out, requests)
            if not rows:
                raise BadInput("no preference pairs to train on (lower pair_margin or ci_threshold, or sample more)")
    if job.algo == "grpo" and preference_rows is not None:
        raise BadInput("GRPO samples online from InstructPE records; a prefs file trains with --algo dpo")

    callbacks = [RichProgress(), LossPlot(), RewardPlot()]
    if job.algo == "dpo":
        from trl import DPOTrainer

        with options_checked():
            trainer = DPOTrainer(model=model, args=training, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                                 peft_config=peft_config, callbacks=callbacks)  # fmt: skip
        size = len(rows)
    else:
        from trl import GRPOTrainer

        reward_model = reward_model_for(rl)
        by_key = {request.key: request for request in requests}
        funcs, weights = GroupRewards(reward_model, by_key, rl.weights(), rl.ci_threshold).reward_functions(rl.ci_gate)
        training.reward_weights = weights
        prompts = [build_messages(r.source, r.instruction, r.history, TRAINED_FORMAT, r.negative) for r in requests]
        rows = [{"prompt": prompt, "request_key": r.key} for prompt, r in zip(prompts, requests, strict=True)]
        kwargs = {"model": model, "reward_funcs": funcs, "args": training, "train_dataset": Dataset.from_list(rows),
                  "processing_class": tokenizer, "peft_config": peft_config, "callbacks": callbacks}  # fmt: skip
        with options_checked():
            if rl.adm:  # part of every group in the positive and negative action spaces (adm_grpo.py)
                by_prompt = {tuple(tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True, return_dict=False)): r
                             for p, r in zip(prompts, requests, strict=True)}  # fmt: skip
                trainer = adm_trainer_class()(**kwargs, requests_by_prompt=by_prompt, spaces=adm_spaces(rl, tokenizer))
            else:
                trainer = GRPOTrainer(**kwargs)
        size = len(rows)
    trainer.remove_callback(PrinterCallback)
    if state.is_main_process:
        adapter = policy.adapter is not None or peft_config is not None
        write_run_info(out, base=policy.base if adapter else str(out), base_spec=policy.spec,
                       base_gguf=policy.base_gguf if adapter else None, method="lora" if adapter else "full", train_file=str(data),
                       train_rows=size, algo=job.algo, start_policy=policy.spec, image_rewards=bool(rl.image_model))  # fmt: skip
    trainer.train(resume_from_checkpoint=checkpoint)
    _drop_reference_adapter(trainer.model)
    trainer.save_model(str(out))
    if state.is_main_process:
        tokenizer.save_pretrained(str(out))
    return out


def adm_spaces(rl: RlArguments, tokenizer) -> ActionSpaces:
    """The off-policy sampler's action spaces, on the HF tokenizer, planned to fill one GRPO group."""
    config = SamplingConfig(k_plain=rl.k_plain, k_positive=rl.k_positive, k_negative=rl.k_negative,
                            include_boost=rl.include_boost, quality_words=default_quality_words())  # fmt: skip
    return ActionSpaces(lambda text: tokenizer.encode(text, add_special_tokens=False), config, scripts=TRAINED_FORMAT in SCRIPT_FORMATS)


def _drop_reference_adapter(model) -> None:
    """DPO keeps a frozen copy of the starting adapter as its reference; the run folder keeps only the trained one."""
    from accelerate.utils import is_peft_model

    if is_peft_model(model) and "ref" in getattr(model, "peft_config", {}):
        model.set_adapter("default")
        model.delete_adapter("ref")
