"""GPTQ rounding for 4-bit merges: ggml's block layout, a fine-tune that survives, and what it refuses."""

import json

import numpy as np
import pytest

from diffchat_tui.core.errors import ModelError
from diffchat_tui.engines.gguf_gptq import BLOCK, read_calibration, round_gptq


def _dequantize(blocks: np.ndarray, quant: str) -> np.ndarray:
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    return dequantize(blocks, GGMLQuantizationType[quant.upper()])


def _plain(weights: np.ndarray, quant: str) -> np.ndarray:
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize

    return _dequantize(quantize(weights, GGMLQuantizationType[quant.upper()]), quant)


def _output_error(difference: np.ndarray, hessian: np.ndarray) -> float:
    """How far a layer's outputs move on inputs with second moments hessian: trace(D H D^T)."""
    return float(np.einsum("ij,jk,ik->", difference, hessian, difference))


@pytest.fixture
def fine_tuned_layers(request):
    """Two layers as a merge sees them: 4-bit base weights plus a low-rank change smaller than one step, and
    the second moments of their inputs."""
    rng = np.random.default_rng(0)
    layers, rows, columns = 2, 48, 4 * BLOCK
    base = _plain(rng.normal(size=(layers * rows, columns)).astype(np.float32), request.param).reshape(layers, rows, columns)
    change = 0.03 * rng.normal(size=(layers, rows, 4)) @ rng.normal(size=(layers, 4, columns))
    spectrum = np.exp(-np.arange(columns) / 16)  # most of the variance in a few directions, as in a transformer
    directions = np.linalg.qr(rng.normal(size=(layers, columns, columns)))[0]
    inputs = (rng.normal(size=(layers, 1024, columns)) * spectrum) @ directions
    hessians = np.einsum("lni,lnj->lij", inputs, inputs) / inputs.shape[1]
    return base, (base + change).astype(np.float32), hessians, request.param


@pytest.mark.parametrize("fine_tuned_layers", ["q4_0", "q4_1"], indirect=True)
def test_gptq_keeps_a_fine_tune_that_plain_rounding_erases(fine_tuned_layers):
    base, merged, hessians, quant = fine_tuned_layers
    blocks = round_gptq(merged, hessians, quant)
    assert blocks.dtype == np.uint8 and blocks.shape[:2] == merged.shape[:2]
    for layer in range(merged.shape[0]):
        kept = _dequantize(blocks[layer], quant)
        fine_tune = _output_error(merged[layer] - base[layer], hessians[layer])
        plain = _output_error(merged[layer] - _plain(merged[layer], quant), hessians[layer])
        calibrated = _output_error(merged[layer] - kept, hessians[layer])
        assert plain > 0.5 * fine_tune  # nearest rounding loses most of what the fine-tune changed
        assert calibrated < 0.5 * plain


@pytest.mark.parametrize("quant", ["q4_0", "q4_1"])
def test_with_uncorrelated_inputs_it_is_nearest_rounding_in_ggml_blocks(quant):
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(1, 8, 2 * BLOCK)).astype(np.float32)
    weights[0, 0, :BLOCK] = 0.25  # a block of equal weights: step 0
    blocks = round_gptq(weights, np.eye(2 * BLOCK)[None], quant)
    got = _dequantize(blocks[0], quant).reshape(8, -1, BLOCK)
    grouped = weights[0].reshape(8, -1, BLOCK)
    if quant == "q4_1":
        low = grouped.min(-1, keepdims=True).astype(np.float16).astype(np.float32)
        step = ((grouped.max(-1, keepdims=True) - grouped.min(-1, keepdims=True)) / 15).astype(np.float16).astype(np.float32)
    else:
        extreme = np.take_along_axis(grouped, np.abs(grouped).argmax(-1)[..., None], -1)
        step = (extreme / -8).astype(np.float16).astype(np.float32)
        low = -8 * step
    levels = np.clip(np.round((grouped - low) / np.where(step == 0, 1, step)), 0, 15)
    np.testing.assert_allclose(got, low + step * levels, rtol=0, atol=1e-6)
    assert np.all(got[0, 0] == np.float16(0.25))


def test_shapes_and_types_it_cannot_round_are_refused():
    with pytest.raises(ModelError, match="not q8_0"):
        round_gptq(np.zeros((1, 4, BLOCK)), np.eye(BLOCK)[None], "q8_0")
    with pytest.raises(ModelError, match="cannot be rounded"):
        round_gptq(np.zeros((1, 4, BLOCK + 1)), np.eye(BLOCK + 1)[None], "q4_1")
    with pytest.raises(ModelError, match="cannot be rounded"):
        round_gptq(np.zeros((2, 4, BLOCK)), np.eye(BLOCK)[None], "q4_1")


def test_calibration_files_are_read_or_refused_in_one_line(tmp_path):
    good = tmp_path / "calibration.jsonl"
    good.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "+ a hat"}]}) + "\n\n")
    assert read_calibration(good) == [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "+ a hat"}]]
    for text in ("", "not json\n", json.dumps({"prompt": "x"}), json.dumps({"messages": []}), json.dumps({"messages": ["x"]})):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text)
        with pytest.raises(ModelError) as caught:
            read_calibration(bad)
        assert "\n" not in str(caught.value)
    with pytest.raises(ModelError, match="cannot read"):
        read_calibration(tmp_path / "missing.jsonl")
