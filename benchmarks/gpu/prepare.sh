#!/usr/bin/env bash
# Prepares .dev/ (git-ignored through .git/info/exclude) for the GPU device check: run.sh runs there.
# Everything must fit the device tool's 64 MiB carry, so the LLM is SmolLM2 cut to 2 blocks, and
# llama-cpp-python's source is slimmed (no docs, vocab models, tests or git history) to about 5 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx "/.dev/" .git/info/exclude || echo "/.dev/" >> .git/info/exclude
mkdir -p .dev/whl
pip_download() {
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 -d .dev/whl "$@"
}
# What the GPU image lacks (it has torch, transformers, peft, accelerate, scikit-build-core, cmake, nvcc).
pip_download diffusers==0.42.1 diskcache importlib_metadata "gguf==$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("gguf"))')"
version=$(.venv/bin/python -c 'import llama_cpp; print(llama_cpp.__version__)')
work=$(mktemp -d)
.venv/bin/python -m pip download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$version"
tar xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(ls -d "$work"/llama_cpp_python-*/)
rm -rf "$src/.git" "$src"/vendor/llama.cpp/{models,docs,benches,tests,media,examples,gguf-py,.devops} \
  "$src"/vendor/llama.cpp/tools/{server,ui} "$src"/vendor/llama.cpp/vendor/miniaudio/miniaudio.h \
  "$src"/vendor/llama.cpp/ggml/src/ggml-{vulkan,opencl,sycl}
tar cJf .dev/llama-slim.tar.xz -C "$work" "$(basename "$src")"
rm -rf "$work"
base=$(.venv/bin/python -c 'from diffchat_tui.engines.models import resolve_llm; m = resolve_llm("embedded"); print(m.path, m.lora)')
.venv/bin/python benchmarks/gpu/shrink_gguf.py 2 ${base% *} .dev/small.gguf ${base#* } .dev/small-lora.gguf
du -sh .dev
