"""llama.cpp CPU builds side by side: prompt and decode tok/s (issue: the best safe build).

Measured on the plain base GGUF and on the merged embedded models the product runs (8-bit by default, the
4-bit option), since 8-bit and 4-bit weights use different kernels.

Each build is a llama-cpp-python wheel compiled with other CMAKE_ARGS (scripts/install_llama_cpp.sh caches
them in ~/.cache/diffchat/wheels); each gets a throwaway virtualenv and the same script, interleaved, so
machine noise hits all alike. A build that crashes (llama.cpp's -march=native build does on some Xeons) is
reported as such. Missing wheels are compiled first (about 5 minutes each on 2 cores).
Run: .venv/bin/python benchmarks/bench_builds.py --repeats 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "0.3.36"
V3 = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
AVX512 = (V3 + " -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
          " -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF")  # fmt: skip
NATIVE = "-DGGML_NATIVE=ON"
BUILDS = {"x86-64-v3": V3, "avx512-no-amx": AVX512, "native": NATIVE}

MEASURE = r"""
import json, sys, time
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=1024, n_batch=512, n_threads=int(sys.argv[2]), verbose=False)
prompt = llm.tokenize(("a cat on a sofa, oil painting, dramatic lighting, " * 12).encode())[:200]
start = time.perf_counter(); llm.eval(prompt); prefill = time.perf_counter() - start
llm.reset(); llm.eval(prompt[:40])
start = time.perf_counter()
for _ in range(64):
    token = llm.sample(temp=0.0)
    llm.eval([token])
decode = time.perf_counter() - start
print(json.dumps({"prompt_tok_s": len(prompt) / prefill, "decode_tok_s": 64 / decode}))
"""


def wheel_dir(args: str) -> Path:
    digest = hashlib.sha1(f"{args}\n".encode()).hexdigest()[:10]  # as the install script hashes `echo "$args"`
    return Path(os.environ.get("DIFFCHAT_WHEELS", Path.home() / ".cache/diffchat/wheels")) / f"llama-cpp-python-{VERSION}-{digest}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    from diffchat_tui.engines.models import MERGED_QUANTS, embedded_gguf, resolve_llm

    models = {"base": embedded_gguf(), **{f"merged {quant}": resolve_llm(merged_quant=quant).path for quant in MERGED_QUANTS}}

    with tempfile.TemporaryDirectory() as tmp:
        pythons: dict[str, str] = {}
        for name, flags in BUILDS.items():
            wheels = wheel_dir(flags)
            if not list(wheels.glob("llama_cpp_python-*.whl")):
                print(f"compiling the {name} build ...", file=sys.stderr)
                subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir", "--wheel-dir", str(wheels),
                                f"llama-cpp-python=={VERSION}"], env={**os.environ, "CMAKE_ARGS": flags}, check=True)  # fmt: skip
            venv = Path(tmp) / name
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            python = str(venv / "bin" / "python")
            subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", *map(str, wheels.glob("*.whl"))], check=True)
            subprocess.run([python, "-m", "pip", "install", "--quiet", "numpy", "typing-extensions", "diskcache", "jinja2"], check=True)
            pythons[name] = python
        script = Path(tmp) / "measure.py"
        script.write_text(MEASURE)
        results = {(name, model): {"prompt_tok_s": [], "decode_tok_s": []} for name in BUILDS for model in models}
        crashed: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, python in pythons.items():
                for model, path in models.items():
                    if name in crashed:
                        continue
                    done = subprocess.run([python, str(script), str(path), str(args.threads)], capture_output=True, text=True)
                    if done.returncode != 0:
                        crashed[name] = done.returncode
                        continue
                    for key, value in json.loads(done.stdout).items():
                        results[name, model][key].append(value)
    med = statistics.median
    print(f"llama-cpp-python {VERSION} builds, SmolLM2-135M, {args.threads} threads, median of {args.repeats}")
    print(f"{'build':<16}{'model':<16}{'prompt tok/s':>14}{'decode tok/s':>14}{'prompt ÷ v3':>13}{'decode ÷ v3':>13}")
    for name in BUILDS:
        if name in crashed:
            print(f"{name:<16}  crashed (exit {crashed[name]})")
            continue
        for model in models:
            row, v3 = results[name, model], results["x86-64-v3", model]
            prompt, decode = med(row["prompt_tok_s"]), med(row["decode_tok_s"])
            print(f"{name:<16}{model:<16}{prompt:>14.1f}{decode:>14.1f}"
                  f"{prompt / med(v3['prompt_tok_s']):>13.3f}{decode / med(v3['decode_tok_s']):>13.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
