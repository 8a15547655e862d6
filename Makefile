# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test system-deps sample-data clean help

help:
	@echo "make run    - create .venv, install riskwatch, run one cycle on the bundled sample data"
	@echo "make test   - install the test extras and run the test suite"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

run: install
	$(PY) runner.py run

test: install-test
	$(PY) -m pytest

sample-data: install
	$(PY) -m riskwatch.sample data

clean:
	rm -rf outputs models data/ingesteddata data/quarantine
