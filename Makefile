# `make run` and `make test` each build .venv on a fresh machine, then are quick.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_CPP_VERSION := 0.3.36

# llama.cpp's default -march=native build enables AMX kernels that segfault on prompt batches
# on the Xeons we run on; x86-64-v3 (AVX2/FMA) is portable and fast. CUDA: CMAKE_ARGS=-DGGML_CUDA=on
ifeq ($(shell uname -m),x86_64)
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
endif
# The compiled wheel is kept per build flags, so a fresh clone reuses it instead of compiling for 5 minutes.
WHEELS := $(HOME)/.cache/diffchat/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(shell echo '$(CMAKE_ARGS)' | sha1sum | cut -c1-10)

.PHONY: run test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	ls $(WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
	  echo "Compiling llama-cpp-python $(LLAMA_CPP_VERSION) (about 5 minutes on 2 cores)..."; \
	  CMAKE_ARGS="$(CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
	    --wheel-dir $(WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION); }
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --find-links $(WHEELS) \
	  --only-binary llama-cpp-python --editable '.[test]'
	touch $@

# The interactive session on the embedded model; pictures need an image model (see README).
run: $(STAMP)
	$(BIN)/diffchat

# Lint first (ruff: the rules in pyproject.toml): it takes a second, the tests take minutes.
test: $(STAMP)
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_edit.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_render.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_tui.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_sft.py

clean:
	rm -rf $(VENV)
