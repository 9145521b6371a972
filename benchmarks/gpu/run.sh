#!/usr/bin/env bash
# The GPU device check, run on the GPU machine from the repo root with .dev/ carried (see prepare.sh):
# fp16 renders through our image engine (+ bench_render.py), then llama.cpp built with CUDA, offloading
# every layer through our LLM engine with the LoRA applied. Writes its reports under $OUT.
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
REPO=$PWD OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$REPO
nvidia-smi -L | tee "$OUT/gpu.txt"
timeout 150 python3 benchmarks/gpu/check_render.py 2>&1 | grep -v Warning | tee "$OUT/render.txt"
timeout 150 python3 benchmarks/bench_render.py --repeats 20 2>&1 | tail -8 | tee -a "$OUT/render.txt"
cd /tmp && tar xJf "$REPO/.dev/llama-slim.tar.xz" && cd llama_cpp_python-* || exit 1
start=$(date +%s)
# One architecture (Hopper) keeps the CUDA compile near 4 minutes on 16 cores.
CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=off -DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=16 \
  timeout 300 python3 -m pip wheel -v --no-deps --no-build-isolation -w /tmp/w . > "$OUT/build.log" 2>&1
echo "build rc=$? in $(( $(date +%s) - start ))s" | tee -a "$OUT/llama.txt"
python3 -m pip install -q --no-deps --no-index --target /tmp/site /tmp/w/*.whl || exit 1
cd "$REPO" && timeout 60 python3 benchmarks/gpu/check_llama.py 2>&1 | tee -a "$OUT/llama.txt"
