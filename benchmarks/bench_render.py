"""Warm renders through DiffusersEngine against a bare diffusers call on the same pipeline (budgets: docs/design.md §7).

Prints medians and ratios measured in this one run; exits 1 when the warm budget (<= 1.05) is missed.
Run: .venv/bin/python benchmarks/bench_render.py [--model DIR_OR_HUB_ID] [--repeats 30]
Without --model it builds the tiny random-weight pipeline. On CUDA it also renders the tiny pipeline in fp16.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="diffusers folder or hub id (default: a freshly built tiny pipeline)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    import torch

    from diffchat_tui.engines.image import RenderRequest
    from diffchat_tui.engines.image_diffusers import DiffusersEngine
    from diffchat_tui.engines.tiny import build_tiny_sd

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_tiny_sd(Path(tmp) / "tiny"))
        started = time.perf_counter()
        engine = DiffusersEngine(model)
        first = engine.render(RenderRequest("a cat on a sofa, neon lights", seed=0))
        cold = time.perf_counter() - started
        request = first.request  # every default filled in: the bare call gets exactly these arguments
        pipe = engine._txt2img

        def bare(seed: int) -> None:
            generator = torch.Generator("cpu").manual_seed(seed)
            with torch.inference_mode():
                pipe(
                    prompt=request.prompt,
                    negative_prompt=None,
                    num_inference_steps=request.steps,
                    guidance_scale=request.cfg_scale,
                    width=request.width,
                    height=request.height,
                    generator=generator,
                )

        ours, theirs = [], []
        for seed in range(args.repeats):  # interleaved, so machine noise hits both alike
            start = time.perf_counter()
            engine.render(RenderRequest(request.prompt, seed=seed))
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            bare(seed)
            theirs.append(time.perf_counter() - start)

        warm, base = statistics.median(ours), statistics.median(theirs)
        print(f"model {model}, {engine.device} {engine.dtype}, {request.width}x{request.height}, "
              f"{request.steps} steps, median of {args.repeats}")
        print(f"{'metric':<28}{'value':>10}  budget")
        print(f"{'warm render, ours (s)':<28}{warm:>10.4f}")
        print(f"{'warm render, bare (s)':<28}{base:>10.4f}")
        print(f"{'warm ours / bare':<28}{warm / base:>10.3f}  <= 1.05 {'ok' if warm / base <= 1.05 else 'OVER'}")
        print(f"{'cold (load + 1st) / warm':<28}{cold / warm:>10.1f}  (info: why the pipeline stays loaded)")

        if torch.cuda.is_available():
            fp16 = DiffusersEngine(model, device="cuda")
            fp16.render(RenderRequest(request.prompt))
            times = []
            for seed in range(args.repeats):
                start = time.perf_counter()
                fp16.render(RenderRequest(request.prompt, seed=seed))
                torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            print(f"{'cuda ' + fp16.dtype + ' warm render (s)':<28}{statistics.median(times):>10.4f}")
        return 0 if warm / base <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
