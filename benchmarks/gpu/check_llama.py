"""Device check: llama.cpp built with CUDA offloads every layer through our engine; the LoRA applies on the GPU."""
import statistics
import time
from pathlib import Path

import llama_cpp

from diffchat_tui.engines.llm_llamacpp import LlamaCppEngine
from diffchat_tui.engines.models import ResolvedModel

print("llama_cpp", llama_cpp.__version__, "| gpu offload supported:", llama_cpp.llama_supports_gpu_offload())
model = ResolvedModel("small", "path", Path(".dev/small.gguf"), Path(".dev/small-lora.gguf"))
msgs = [{"role": "user", "content": "a cat on a sofa. Instruction: make it cyberpunk at night"}]

def measure(layers):
    engine = LlamaCppEngine(model, n_gpu_layers=layers, prefix_cache=False)
    load = engine.load()
    speeds, text = [], ""
    for _ in range(5):
        first, pieces = None, []
        for piece in engine.stream(msgs, temperature=0.0, seed=0, max_tokens=64, stop=[], cancel=None):
            first = first or time.perf_counter()
            pieces.append(piece)
        speeds.append((len(pieces) - 1) / (time.perf_counter() - first))
        text = "".join(pieces)
    offloaded = engine.offloaded_layers
    print(f"n_gpu_layers={layers} (asked) {offloaded} (used): load {load:.2f}s, decode {statistics.median(speeds):.0f} tok/s, "
          f"{len(pieces)} tokens, text {text[:60]!r}")
    return text

gpu = measure(-1)
cpu = measure(0)
print("gpu and cpu greedy text agree on the first 40 chars:", gpu[:40] == cpu[:40])
print("LLAMA CHECK DONE")
