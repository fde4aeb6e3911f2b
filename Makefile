# `make run`  sets up and serves the demo clinic on http://127.0.0.1:8000 (prints the logins).
# `make test` sets up and runs all tests.

PYTHON ?= python3.11
VENV   := .venv
# pymsprog (the test oracle) pins numpy<2; neda itself must work with numpy 2, so `make test`
# also runs every test that does not need pymsprog in a second environment with numpy 2.
NP2    := .venv-numpy2
NEEDS_PYMSPROG := tests/test_msprog_differential.py tests/test_msprog_milestone.py \
	tests/test_msprog_rng.py tests/test_course_properties.py
BIN    := $(VENV)/bin
CLINIC := build/clinic
export NEDA_DATA_DIR ?= $(CLINIC)

.PHONY: run test test-postgres screenshots clean

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

# The demo clinic: migrate, load synthetic patients once, print the logins, serve with two
# workers. Passwords: $NEDA_DEMO_PASSWORD when set, else a random one printed here.
run: $(VENV)/.installed-run
	$(BIN)/neda-admin migrate --noinput -v0
	$(BIN)/neda-admin collectstatic --noinput -v0
	$(BIN)/neda-admin demo_clinic --patients 300
	@echo "Serving the demo clinic on http://127.0.0.1:8000 (Ctrl-C to stop)"
	$(BIN)/gunicorn neda.web.wsgi --bind 127.0.0.1:8000 --workers 2 --timeout 120 \
		--access-logfile - \
		--access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(M)sms'

$(NP2)/.installed: pyproject.toml
	$(PYTHON) -m venv $(NP2)
	$(NP2)/bin/python -m pip install --quiet --upgrade pip
	$(NP2)/bin/python -m pip install --quiet -e . pytest pytest-django hypothesis \
		msclinical==0.1.0 mstrial==0.1.0
	$(NP2)/bin/python -c "import numpy; assert int(numpy.__version__.split('.')[0]) >= 2, numpy.__version__"
	touch $@

# axe-core (the accessibility check of the browser tests), pinned by its package-lock.json and
# injected from node_modules: never from a CDN.
AXE := tests/web/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/web/axe/package.json tests/web/axe/package-lock.json
	npm ci --prefix tests/web/axe --no-audit --no-fund --silent
	touch $@

# Everything on SQLite (the browser tests in Chromium too), the web tests again on PostgreSQL,
# the core again under numpy 2.
test: $(VENV)/.installed-test $(NP2)/.installed $(AXE)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	NEDA_DATA_DIR=build/test-sqlite $(BIN)/pytest -q
	$(MAKE) --no-print-directory test-postgres
	NUMBA_CACHE_DIR=$(NP2)/numba-cache NEDA_DATA_DIR=build/test-np2 $(NP2)/bin/python -m pytest \
		-q -p no:cacheprovider $(addprefix --ignore=,$(NEEDS_PYMSPROG)) --ignore=tests/web

# The web tests against a real PostgreSQL (the machine's; scripts/postgres-for-tests.sh starts
# it and makes the role). Without PostgreSQL this says so, and fails when NEDA_REQUIRE_POSTGRES=1.
# The browser tests serve a SQLite clinic of their own: they ran in the SQLite pass already.
# The test database is named after the checkout's path: runs from two clones at once (CI and a
# developer, two reviewers) would otherwise both create and drop test_neda on one server.
test-postgres: $(VENV)/.installed-test
	@url=$$(scripts/postgres-for-tests.sh) ; status=$$? ; \
	if [ $$status -ne 0 ]; then \
		if [ "$$NEDA_REQUIRE_POSTGRES" = 1 ]; then echo "PostgreSQL is required"; exit 1; fi; \
		echo "PostgreSQL not available: the web tests ran on SQLite only"; exit 0; \
	fi ; \
	echo "web tests on PostgreSQL" ; \
	DATABASE_URL=$$url NEDA_DATA_DIR=build/test-postgres \
		NEDA_TEST_DATABASE=test_neda_$$(pwd | cksum | cut -d' ' -f1) $(BIN)/pytest -q tests/web \
		--ignore=tests/web/test_browser.py --ignore=tests/web/test_portal_browser.py

# The screenshots of the docs (patient list, overview, import preview; the portal on a phone),
# taken by the browser tests in Debian's Chromium, into docs/screenshots/.
screenshots: $(VENV)/.installed-test $(AXE)
	NEDA_REQUIRE_BROWSER=1 NEDA_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q \
		-p no:cacheprovider tests/web/test_browser.py tests/web/test_portal_browser.py

clean:
	rm -rf $(VENV) $(NP2) build
