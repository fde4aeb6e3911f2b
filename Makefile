# `make run`  sets up and runs neda on a demo cohort.
# `make test` sets up and runs all tests.

PYTHON ?= python3.11
VENV   := .venv
# pymsprog (the test oracle) pins numpy<2; neda itself must work with numpy 2, so `make test`
# also runs every test that does not need pymsprog in a second environment with numpy 2.
NP2    := .venv-numpy2
NEEDS_PYMSPROG := tests/test_msprog_differential.py tests/test_msprog_milestone.py \
	tests/test_msprog_rng.py tests/test_course_properties.py
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

$(NP2)/.installed: pyproject.toml
	$(PYTHON) -m venv $(NP2)
	$(NP2)/bin/python -m pip install --quiet --upgrade pip
	$(NP2)/bin/python -m pip install --quiet -e . pytest hypothesis msclinical==0.1.0 mstrial==0.1.0
	$(NP2)/bin/python -c "import numpy; assert int(numpy.__version__.split('.')[0]) >= 2, numpy.__version__"
	touch $@

test: $(VENV)/.installed-test $(NP2)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/pytest -q
	NUMBA_CACHE_DIR=$(NP2)/numba-cache $(NP2)/bin/python -m pytest -q -p no:cacheprovider \
		$(addprefix --ignore=,$(NEEDS_PYMSPROG))

clean:
	rm -rf $(VENV) $(NP2) build
