# Two commands do all set-up on a fresh machine:
#   make reproduce   -> installs, fetches verified MNIST, runs every part, writes out/report.html
#   make test        -> installs, runs ruff and the whole test suite (slow MNIST tests included)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# A CPU build of torch that lies on this machine's disk; any 2.11-2.14 release works.
TORCH ?= torch==2.13.0
OUT ?= out

.PHONY: install reproduce quick test test-fast lint bench clean

$(BIN)/lenetlab: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(BIN)/lenetlab

reproduce: install
	$(BIN)/lenetlab reproduce --out $(OUT)

quick: install
	$(BIN)/lenetlab reproduce --quick --out $(OUT)/quick

lint: install
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python benchmarks/lenet.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
