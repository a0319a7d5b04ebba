# kerascnn: the two commands. Both create .venv if it is missing and install into it.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: bench test test-fast lint install clean book notebooks

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,jax,tune,tensorboard,deploy,book]"
	touch $(STAMP)

install: $(STAMP)

## make bench: the main job, on the embedded Fashion-MNIST subset (minutes on 2 CPU cores);
## BENCH_ARGS adds flags (make bench BENCH_ARGS="--budget 30": calibrate on this machine)
bench: $(STAMP)
	$(BIN)/kerascnn bench --models lenet,vgg,mobilenetv2 $(BENCH_ARGS)

## make test: the whole test suite (CI runs this)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests

## make test-fast: while working, all but the tests marked slow (tests/conftest.py's SLOW table)
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS) -m "not slow" tests

## make book: the course as a static site, build/book/html/index.html (open it in a browser): every
## lesson executed in fast mode, figures inline, formulas as MathML; offline. Rebuilds only the
## lessons that changed; BOOK_ARGS=--fresh rebuilds every page (after changing the package)
book: $(STAMP)
	$(BIN)/python book/make_book.py $(BOOK_ARGS)

## make notebooks: tutorials/NN_*.ipynb written from the lessons' .py files (the source), no outputs
notebooks: $(STAMP)
	$(BIN)/python book/sync_notebooks.py

## make lint: ruff (lint and format check) over the whole tree (CI runs it before the tests)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
