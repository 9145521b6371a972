# `make run` and `make test` each build .venv on a fresh machine, then are quick.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_CPP_VERSION := 0.3.36
export CMAKE_ARGS

# llama-cpp-python compiles llama.cpp: scripts/install_llama_cpp.sh picks the fastest CPU build that
# passes a smoke test here (llama.cpp's -march=native build crashes on some Xeons) and caches each wheel
# per build flags, so a fresh clone on the same machine skips the 5-minute compile. CUDA: CMAKE_ARGS=-DGGML_CUDA=on

.PHONY: run test bench venv bytecode clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile scripts/install_llama_cpp.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	scripts/install_llama_cpp.sh $(VENV) $(LLAMA_CPP_VERSION)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[test]'
	touch $@

# pip compiles a wheel's modules when it installs them, but not an editable install's, and where
# PYTHONDONTWRITEBYTECODE is set Python never caches them itself: every start would compile our modules
# again (about 0.04 s of a 0.55 s edit). compileall redoes only the files that changed.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q diffchat_tui trainer >/dev/null

# The interactive session on the embedded model; pictures need an image model (see README).
run: bytecode
	$(BIN)/diffchat

# Lint first (ruff: the rules in pyproject.toml): it takes a second, the tests take minutes.
test: bytecode
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

bench: bytecode
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_edit.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_render.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_tui.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_sft.py

clean:
	rm -rf $(VENV)
