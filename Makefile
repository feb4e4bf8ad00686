# The two commands of the README: `make demo` and `make test`. Both work on a fresh clone: they create
# .venv, install the package with the embedded judges (llama-cpp-python compiles once, ~8-10 min on 2 cores;
# pip's cache makes later installs fast) and run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export LITELLM_LOCAL_MODEL_COST_MAP := True
# llama-cpp-python compiles llama.cpp; the multimodal library (mtmd/llava) is never used here: skip it.
CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
export CMAKE_ARGS

.PHONY: install demo test test-fast lint clean browser dashboard

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[local,test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/council demo

test: install browser
	COUNCIL_REQUIRE_LOCAL=1 COUNCIL_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -ra

# Debian's Chromium for the dashboard's browser tests (Playwright drives /usr/bin/chromium; no browser download)
browser:
	@command -v chromium >/dev/null || ( $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq \
		--no-install-recommends chromium chromium-driver )

test-fast: install
	$(BIN)/python -m pytest -q -ra -m "not local_llm"

dashboard: install
	$(BIN)/council dashboard

lint: install
	$(BIN)/ruff check judges council protocols dashboard tests bench

clean:
	rm -rf $(VENV) .council .pytest_cache
