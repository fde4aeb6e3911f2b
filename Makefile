# `make run`  sets up and runs neda on a demo cohort.
# `make test` sets up and runs all tests.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := build/demo

.PHONY: run test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: re-runs skip the install unless pyproject.toml changed.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/neda demo-cohort --patients 200 --seed 1 --out $(DEMO)
	$(BIN)/neda progression $(DEMO)/visits.csv --relapses $(DEMO)/relapses.csv
	$(BIN)/neda course $(DEMO)/visits.csv --relapses $(DEMO)/relapses.csv --mri $(DEMO)/mri.csv \
		--treatments $(DEMO)/treatments.csv --pros $(DEMO)/pros.csv -o $(DEMO)/course
	$(BIN)/neda course $(DEMO)/visits.csv --relapses $(DEMO)/relapses.csv --mri $(DEMO)/mri.csv \
		--treatments $(DEMO)/treatments.csv --pros $(DEMO)/pros.csv --patient 10

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build
