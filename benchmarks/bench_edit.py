"""`diffchat edit` against a bare llama-cpp-python script doing the same edit (budgets: docs/design.md §7).

Prints medians and ratios measured in this one run; exits 1 when a budget is missed.
Run: make bench   (or .venv/bin/python benchmarks/bench_edit.py --repeats 9)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = "a cat on a sofa"
FIRST = "make it cyberpunk at night"
SECOND = "add a red umbrella"
HEAVY = ("torch", "transformers", "diffusers", "llama_cpp", "textual")

# The baseline: what someone would write with llama-cpp-python alone, same model, messages and sampling.
BARE_SCRIPT = r"""
import json, sys, time
spec = json.load(open(sys.argv[1]))
import llama_cpp
llm = llama_cpp.Llama(model_path=spec["model"], lora_path=spec["lora"], n_ctx=2048, n_threads=spec["threads"],
                      n_threads_batch=spec["threads"], n_gpu_layers=-1 if llama_cpp.llama_supports_gpu_offload() else 0,
                      verbose=False)
turns, messages = [], []
for turn, max_tokens in zip(spec["turns"], spec["max_tokens"]):
    messages = messages + turn  # each turn extends the last, as a chat does
    start, first, pieces = time.perf_counter(), None, []
    for chunk in llm.create_chat_completion(messages=messages, temperature=0.0, seed=0, max_tokens=max_tokens,
                                            stop=["\n"], stream=True):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            first = first or time.perf_counter()
            pieces.append(piece)
    end = time.perf_counter()
    messages = messages + [{"role": "assistant", "content": "".join(pieces).strip()}]
    turns.append({"ttft_s": first - start, "tok_per_s": (len(pieces) - 1) / (end - first), "text": "".join(pieces)})
print(json.dumps(turns))
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return time.perf_counter() - start, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from diffchat_tui.core.prompting import build_messages
    from diffchat_tui.engines.editor import Editor
    from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine, default_threads
    from diffchat_tui.engines.models import resolve_llm

    model = resolve_llm("embedded")
    engine = LlamaCppEngine(model)
    engine.load()  # only to learn the prompt format the model declares, exactly as the app does
    first_turn = build_messages(SOURCE, FIRST, fmt=Editor(engine).prompt_format)
    del engine
    bin_dir = Path(sys.executable).parent
    diffchat = str(bin_dir / "diffchat")

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        warm_env = {**os.environ, "DIFFCHAT_HOME": str(home)}
        no_prefix_env = {**warm_env, "DIFFCHAT_LLM__PREFIX_CACHE": "false"}
        app_cmd = [diffchat, "edit", SOURCE, "-i", FIRST, "--json"]
        app_two_cmd = [diffchat, "edit", SOURCE, "-i", FIRST, "-i", SECOND, "--json"]
        # The bare script generates exactly as many tokens per turn as the app did: the same work.
        tokens = [json.loads(line)["timings"]["tokens"] for line in timed(app_two_cmd, warm_env)[1].splitlines()]
        bare = Path(tmp) / "bare_edit.py"
        bare.write_text(BARE_SCRIPT)
        one_turn, two_turns = Path(tmp) / "one.json", Path(tmp) / "two.json"
        spec = {"model": str(model.path), "lora": str(model.lora) if model.lora else None, "threads": default_threads()}
        one_turn.write_text(json.dumps({**spec, "turns": [first_turn], "max_tokens": tokens[:1]}))
        second_turn = [{"role": "user", "content": f"Instruction: {SECOND}"}]
        two_turns.write_text(json.dumps({**spec, "turns": [first_turn, second_turn], "max_tokens": tokens}))
        bare_cmd = [sys.executable, str(bare), str(one_turn)]
        bare_two_cmd = [sys.executable, str(bare), str(two_turns)]
        timed(bare_cmd, warm_env)  # page cache warm for both before measuring

        wall = {"app": [], "cold": [], "bare": []}
        decode = {"app": [], "bare": []}
        prefill = {"app": [], "bare": []}
        warm_first_ttft = []
        for index in range(args.repeats):  # interleaved, so machine noise hits all alike
            seconds, out = timed(app_cmd, warm_env)
            wall["app"].append(seconds)
            decode["app"].append(json.loads(out)["timings"]["tok_per_s"])
            warm_first_ttft.append(json.loads(out)["timings"]["ttft_s"])
            cold_env = {**os.environ, "DIFFCHAT_HOME": str(Path(tmp) / f"cold-{index}")}
            wall["cold"].append(timed(app_cmd, cold_env)[0])
            seconds, out = timed(bare_cmd, warm_env)
            wall["bare"].append(seconds)
            decode["bare"].append(json.loads(out)[0]["tok_per_s"])
            # Without the prefix file turn 1 prefills everything, as the bare script does; turn 2 reuses the KV cache.
            turns = [json.loads(line)["timings"] for line in timed(app_two_cmd, no_prefix_env)[1].splitlines()]
            prefill["app"].append(turns[1]["ttft_s"] / turns[0]["ttft_s"])
            turns = json.loads(timed(bare_two_cmd, warm_env)[1])
            prefill["bare"].append(turns[1]["ttft_s"] / turns[0]["ttft_s"])

        help_app = [timed([diffchat, "--help"], warm_env)[0] for _ in range(args.repeats)]
        help_bare = [timed([sys.executable, "-c", "pass"], warm_env)[0] for _ in range(args.repeats)]
        importtime = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "diffchat_tui", "--help"], capture_output=True, text=True
        ).stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in importtime.splitlines() if "|" in line}
    heavy = sorted(set(HEAVY) & imported)

    med = statistics.median
    rows = [
        ("edit wall time, s", med(wall["app"]), med(wall["bare"]), med(wall["app"]) / med(wall["bare"]), "<= 1.15"),
        ("  same, no KV file yet", med(wall["cold"]), med(wall["bare"]), med(wall["cold"]) / med(wall["bare"]), "(info)"),
        ("decode tok/s", med(decode["app"]), med(decode["bare"]), med(decode["app"]) / med(decode["bare"]), ">= 0.95"),
        ("2nd/1st turn prefill", med(prefill["app"]), med(prefill["bare"]), med(prefill["app"]), "<= 0.3"),
        ("--help wall time, s", med(help_app), med(help_bare), med(help_app) / med(help_bare), "app < 0.3 s"),
    ]
    checks = [rows[0][3] <= 1.15, True, rows[2][3] >= 0.95, rows[3][3] <= 0.3, rows[4][1] < 0.3, not heavy]
    print(f"diffchat edit vs bare llama-cpp-python, median of {args.repeats}, threads={default_threads()},")
    print(f"tokens per turn {tokens}; the app keeps the few-shot prefix's KV state on disk, the bare script cannot")
    print(f"{'metric':<24}{'app':>10}{'bare':>10}{'ratio':>8}  budget")
    for (name, app, base, ratio, budget), ok in zip(rows, checks):
        print(f"{name:<24}{app:>10.3f}{base:>10.3f}{ratio:>8.3f}  {budget:<12}{'ok' if ok else 'OVER'}")
    print(f"first-turn time to first token with the prefix KV file: {med(warm_first_ttft):.3f} s")
    print(f"heavy modules imported by --help: {heavy or 'none'}")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
