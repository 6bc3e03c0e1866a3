# Two entry points from a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# How long each fuzzer runs: briefly inside `make test`, longer with `make fuzz`.
SMOKE_SECONDS ?= 10
FUZZ_SECONDS ?= 300
FUZZERS := paths headers assets js dictionaries

.PHONY: serve test test-compat lint pytest mutation docs fuzz fuzz-smoke bench bench-quick bench-smoke soak tools bench-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.serve-deps: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[serve,brotli,zstd]'
	touch $@

$(VENV)/.test-deps: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz,serve,brotli,zstd,bench,docs]'
	touch $@

## serve: Gunicorn on $(HOST):$(PORT) serving examples/site/ through the middleware
serve: $(VENV)/.serve-deps
	$(BIN)/gunicorn --chdir examples --bind $(HOST):$(PORT) --workers 2 \
		--access-logfile - wsgi:application

## test: lint, the whole test suite, a short run of every fuzzer, the bench harness, a short soak
test: tools lint pytest fuzz-smoke bench-smoke

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict staticmw

pytest: $(VENV)/.test-deps tools
	$(BIN)/python -m pytest

# The oldest supported Django and Flask (LTS 4.2, 2.3) beside the newest that `make test` gets:
# their own virtualenv, and the tests that import either.
COMPAT_VENV ?= .venv-compat
COMPAT_PINS := 'django>=4.2,<4.3' 'flask>=2.3,<2.4'
COMPAT_TESTS = $(filter-out tests/test_browser.py,$(shell grep -rlE "flask|django" tests --include="test_*.py"))

$(COMPAT_VENV)/.deps: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet -e . $(COMPAT_PINS) \
		pytest hypothesis gunicorn uvicorn brotli zstandard jinja2 \
		django-debug-toolbar djangorestframework django-csp fastapi
	touch $@

$(VENV)/.docs-deps: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs,django,flask]' starlette jinja2
	touch $@

## docs: the documentation site into docs/_build/html; any warning (a broken link between
## pages, a bad directive) fails it, as does a figure that is not the results file's
docs: $(VENV)/.docs-deps
	$(BIN)/python bench/figures.py --check
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

## mutation: mutmut over the safety core; a survivor not listed as equivalent fails
mutation: $(VENV)/.test-deps
	$(BIN)/python .ci/mutation.py

## test-compat: the Django and Flask tests again on Django 4.2 LTS and Flask 2.3
test-compat: $(COMPAT_VENV)/.deps
	$(COMPAT_VENV)/bin/python -m pytest -p no:cacheprovider $(COMPAT_TESTS)

fuzz-smoke: $(VENV)/.test-deps
	@$(MAKE) --no-print-directory _fuzz SECONDS=$(SMOKE_SECONDS)

## fuzz: every fuzzer for FUZZ_SECONDS each; crashes land in fuzz/crashes/
fuzz: $(VENV)/.test-deps
	@$(MAKE) --no-print-directory _fuzz SECONDS=$(FUZZ_SECONDS)

_fuzz:
	@mkdir -p fuzz/crashes
	@set -e; for name in $(FUZZERS); do \
		mkdir -p fuzz/work/$$name; \
		echo "fuzz: $$name for $(SECONDS)s"; \
		$(BIN)/python fuzz/fuzz_$$name.py fuzz/work/$$name fuzz/corpus/$$name \
			-max_total_time=$(SECONDS) -artifact_prefix=fuzz/crashes/$$name- \
			-print_final_stats=1 > fuzz/work/$$name.log 2>&1 \
			|| { tail -n 40 fuzz/work/$$name.log; echo "fuzz: $$name FAILED"; exit 1; }; \
		grep -E "^stat::number_of_executed_units" fuzz/work/$$name.log | sed "s/^/fuzz: $$name /"; \
	done

## tools: the Debian packages the tests drive (wrk, nginx, chromium), when missing
tools:
	@.ci/tools.sh wrk nginx chromium

bench-tools:
	@.ci/tools.sh wrk nginx

## bench: the full benchmark against WhiteNoise, ServeStatic, Werkzeug and nginx (bench/results/)
bench: $(VENV)/.test-deps bench-tools
	$(BIN)/python bench/run.py

## bench-quick: the same in under three minutes
bench-quick: $(VENV)/.test-deps bench-tools
	$(BIN)/python bench/run.py --quick

## soak: ten minutes of mixed load while files change underneath
soak: $(VENV)/.test-deps bench-tools
	$(BIN)/python bench/soak.py --seconds 600

# Inside make test: the harness still runs, and a 20-second soak passes.
bench-smoke: $(VENV)/.test-deps tools
	$(BIN)/python bench/run.py --smoke > /dev/null
	$(BIN)/python bench/soak.py --seconds 20

clean:
	rm -rf $(VENV) $(COMPAT_VENV) fuzz/work fuzz/crashes bench/work docs/_build .pytest_cache .ruff_cache .hypothesis *.egg-info
