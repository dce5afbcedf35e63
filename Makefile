# The README's two commands:  `make run`  (set up, then run the main job)  and  `make test`.
# Both are idempotent; after the first run they only re-install when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROMPT ?= In two sentences, what does an agent runtime do?

# llama.cpp is compiled once per machine into a wheel cache outside the repo (keyed by the
# build flags), so fresh clones and CI reuse it. Two flags matter, both measured here:
# - portable x86-64-v3 (AVX2/FMA) instead of -march=native: a native build turns on the AMX
#   kernels on CPUs that report AMX, and those segfault in VMs that do not grant AMX tile state;
# - GGML_OPENMP=OFF: with OpenMP, decoding from any thread but the main one (our worker thread,
#   llama_cpp.server's thread pool) ran 2.8x slower (4.2 s vs 1.5 s for 128 tokens); ggml's own
#   thread pool is as fast from every thread.
LLAMA_CPP_VERSION := 0.3.36
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_OPENMP=OFF
else
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF
endif
WHEELHOUSE ?= $(HOME)/.cache/agenthost/wheels/$(shell echo '$(LLAMA_CPP_VERSION) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)

.PHONY: setup sandbox-deps run test lint typecheck unit bench clean

setup: sandbox-deps $(VENV)/.ready

# The code sandbox uses bubblewrap (Debian: bubblewrap) and falls back to util-linux unshare
# without it. Installed when missing and we are root with apt; never fails the setup.
sandbox-deps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing bubblewrap for the code sandbox..."; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; } >/dev/null 2>&1 \
	      || echo "warning: could not install bubblewrap; the sandbox will use unshare"; \
	  else echo "note: bubblewrap not installed; the sandbox will use unshare (docs/sandbox.md)"; fi; }

$(VENV)/.ready: pyproject.toml constraints.txt Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo "Building llama.cpp $(LLAMA_CPP_VERSION) once for this machine (about 4 minutes on 2 cores)..."; \
	  mkdir -p $(WHEELHOUSE) && \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	    $(BIN)/pip wheel -q --no-deps --no-cache-dir -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_CPP_VERSION); }
	$(BIN)/pip install -q -c constraints.txt --find-links $(WHEELHOUSE) \
	  "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)" -e '.[dev]'
	@touch $@

# The main job: a streamed chat completion on the embedded CPU model (SmolLM2-135M-Instruct).
run: setup
	$(BIN)/agenthost chat "$(PROMPT)"

test: setup lint typecheck unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/inference_overhead.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
