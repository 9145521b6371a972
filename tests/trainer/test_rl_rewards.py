"""RL rewards on the tiny CLIP and tiny SD pipeline, the per-request normalization, and the CI gate."""

from __future__ import annotations

import pickle

import pytest

from diffchat_tui.core.errors import ModelError
from trainer.rl.pairs import Scored, ScoredCandidate, best_and_worst, evaluate_pool, gate
from trainer.rl.rewards import (
    AestheticScorer,
    IntegrityScorer,
    PreferenceScorer,
    Request,
    RewardModel,
    TextScorer,
    combine,
    normalize,
)

REQUEST = Request(
    "a cat on a sofa", "add a red umbrella", include=("red umbrella",), keep=("cat", "sofa"), reference="a cat on a sofa, a red umbrella"
)


@pytest.fixture(scope="module")
def renders(tiny_engine):
    from diffchat_tui.engines.image import RenderRequest

    return [tiny_engine.render(RenderRequest(prompt, seed=0)).image for prompt in ("a cat", "a dog on a sofa", "neon city at night")]


def test_tiny_scorers_are_batched_and_sized_to_the_tiny_clip(tiny_models, renders):
    clip = tiny_models["clip"]
    aesthetic = AestheticScorer.tiny(clip).score(renders)
    preference = PreferenceScorer.tiny(clip).score(renders, ["a cat, make it night"] * 3)
    integrity = IntegrityScorer.tiny(clip).score(renders[:1] * 3, renders)
    assert len(aesthetic) == len(preference) == len(integrity) == 3
    assert integrity[0] == pytest.approx(1.0, abs=1e-5)  # an image is its own best match
    assert all(-1.0001 <= value <= 1.0001 for value in integrity)
    assert AestheticScorer.default_clip == "openai/clip-vit-large-patch14"
    assert PreferenceScorer.default_model == "yuvalkirstain/PickScore_v1"


def test_aesthetic_head_loads_safetensors_and_plain_pth_only(tiny_models, renders, tmp_path):
    import torch
    from safetensors.torch import save_file

    from trainer.rl.image_scorers import _aesthetic_mlp, load_clip

    width = load_clip(str(tiny_models["clip"]))[0].config.projection_dim
    state = _aesthetic_mlp(width).state_dict()
    save_file(state, str(tmp_path / "head.safetensors"))
    torch.save(state, tmp_path / "head.pth")
    from_safetensors = AestheticScorer(str(tiny_models["clip"]), str(tmp_path / "head.safetensors")).score(renders)
    from_pth = AestheticScorer(str(tiny_models["clip"]), str(tmp_path / "head.pth")).score(renders)
    assert from_safetensors == pytest.approx(from_pth)

    class Payload:  # a pickle that would run code when loaded without weights_only
        def __reduce__(self):
            return (print, ("unpickled!",))

    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"layers.0.weight": Payload()}))
    with pytest.raises(ModelError):
        AestheticScorer(str(tiny_models["clip"]), str(tmp_path / "evil.pth")).score(renders)


def test_preference_is_scored_against_the_intent_not_the_candidate(tiny_models, tiny_engine):
    model = RewardModel(preference=PreferenceScorer.tiny(tiny_models["clip"]), image_engine=tiny_engine)
    verbose = "a cat on a sofa, a red umbrella, masterpiece, best quality, 8k, a cat on a sofa"
    terms = model.terms(REQUEST, [verbose])[0]
    direct = model.preference.score([model.render(verbose)], [REQUEST.intent])[0]
    assert REQUEST.intent == "a cat on a sofa, add a red umbrella"
    assert terms["preference"] == pytest.approx(direct)


def test_image_integrity_compares_same_seed_renders(tiny_models, tiny_engine):
    model = RewardModel(integrity=IntegrityScorer.tiny(tiny_models["clip"]), image_engine=tiny_engine, seed=7)
    same, other = model.terms(REQUEST, [REQUEST.current, "neon city at night, rain"])
    assert same["image_cosine"] == pytest.approx(1.0, abs=1e-5)  # same prompt, same seed: the same picture
    assert same["integrity"] == pytest.approx((same["image_cosine"] + same["preservation"]) / 2)
    assert other["preservation"] == 0.0  # the cat and the sofa are gone from the text


def test_text_scorer_rewards_compliance_and_keeps_preservation_apart():
    good, ignored, wrecked = TextScorer().score(
        REQUEST, ["a cat on a sofa, a red umbrella", "a cat on a sofa", "a red umbrella, make it add a red umbrella"]
    )
    assert good == (1.0, 1.0)
    assert ignored[0] < good[0] and ignored[1] == 1.0
    assert wrecked[0] < good[0] and wrecked[1] == 0.0


def test_normalize_is_per_request_with_a_noise_floor():
    assert normalize([1.0, 2.0, 3.0], 0.01) == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-4)
    assert normalize([0.50, 0.51], 1.0) == pytest.approx([-0.005, 0.005])  # near-ties stay near zero
    rows = [{"text": 1.0, "integrity": 1.0, "aesthetic": 5.0}, {"text": 0.0, "integrity": 1.0, "aesthetic": 6.0}]
    only_text = combine(rows, {"text": 1.0, "aesthetic": 0.0})
    both = combine(rows, {"text": 1.0, "aesthetic": 1.0})
    assert only_text[0] > only_text[1]
    assert both[1] > only_text[1]
    assert combine([{"text": 1.0}, {"text": 0.0}], {"aesthetic": 1.0}) == [0.0, 0.0]  # unmeasured terms count 0


def test_ci_gate_sets_wrecked_candidates_to_the_request_minimum():
    values, gated = gate([2.0, 0.5, -1.0], [0.3, 0.9, 0.95], threshold=0.6)
    assert gated == [True, False, False]
    assert values == [-1.0, 0.5, -1.0]


def test_a_pretty_candidate_that_wrecks_the_content_is_never_chosen():
    texts = ["a neon city, masterpiece, 8k", "a cat on a sofa, a red umbrella", "a cat on a sofa"]
    terms = [
        {"text": 1.0, "integrity": 0.1, "aesthetic": 9.0},  # the prettiest picture, but the cat is gone
        {"text": 1.0, "integrity": 0.9, "aesthetic": 6.0},
        {"text": 0.3, "integrity": 1.0, "aesthetic": 5.0},
    ]
    # w_c = 0: only the gate stands between the prettiest picture and being chosen
    scored = evaluate_pool(REQUEST, texts, ["plain", "positive", "negative"], terms, {"text": 1.0, "aesthetic": 1.0}, 0.6)
    assert scored.candidates[0].reward == max(c.reward for c in scored.candidates)
    chosen, rejected = best_and_worst(scored, margin=0.1)
    assert chosen.text == texts[1]
    assert rejected.text == texts[0] and rejected.gated  # the gated one is the hard negative


def test_no_pair_without_the_margin():
    flat = Scored(REQUEST, [ScoredCandidate("a", "plain", {}, 0.1, 1.0, 0.1), ScoredCandidate("b", "plain", {}, 0.0, 1.0, 0.0)])
    assert best_and_worst(flat, margin=0.5) is None
    assert best_and_worst(flat, margin=0.05) is not None
