# Two commands do all set-up: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall whenever the project's dependencies change.
STAMP  := $(VENV)/.installed

.PHONY: run chat test bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 is the CPU wheel; an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Migrate the local SQLite database and start the bot with the shipped models:
## web chat and admin on :8000, the Twitter loop on a local X sandbox (:8025) without X keys.
run: $(STAMP)
	$(BIN)/threadbot db upgrade
	$(BIN)/threadbot validate
	$(BIN)/threadbot run

## Talk to the bot in the terminal instead.
chat: $(STAMP)
	$(BIN)/threadbot db upgrade
	$(BIN)/threadbot chat

## Lint and run the whole suite (PostgreSQL tests skip, with a reason, when no server answers).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/turns.py

clean-venv:
	rm -rf $(VENV)
