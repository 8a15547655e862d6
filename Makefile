# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench api dashboard screenshots install install-test system-deps sample-data clean help

help:
	@echo "make run    - create .venv, install riskwatch, run one cycle on the bundled sample data"
	@echo "make test   - install the test extras and run the test suite"
	@echo "make bench  - benchmarks against the obvious ways, the drift and estimation accuracy harnesses, the fault-injection tally and Dask at 3x its memory (about 50 minutes)"
	@echo "make dashboard - the Voila dashboard on http://127.0.0.1:8866/"
	@echo "make api    - serve predictions and metrics on http://127.0.0.1:8000 (docs at /docs)"

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

# Chromium renders the PDF report (no TeX, nothing downloaded at run time); poppler-utils reads
# PDFs back in tests. Installed with apt when we are root and they are missing; otherwise the
# runner still writes the HTML report and says what to install.
system-deps:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then have_chromium=1; fi; \
	if [ -z "$$have_chromium" ] || ! command -v pdftotext >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and poppler-utils with apt-get"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium poppler-utils >/dev/null; \
	  else \
	    echo "note: install chromium and poppler-utils for PDF reports (HTML reports work without them)"; \
	  fi; \
	fi

run: install system-deps
	$(PY) runner.py run

test: install-test system-deps
	$(PY) -m pytest

bench: install system-deps
	$(PY) bench/run_all.py
	$(PY) bench/drift_accuracy.py
	$(PY) bench/estimation_accuracy.py
	$(PY) bench/api.py --seconds 3
	$(PY) bench/api_openloop.py
	$(PY) bench/chaos.py
	$(PY) bench/dask_scale.py

api: install
	$(PY) runner.py serve

dashboard: install
	$(PY) runner.py dashboard

# The README's pictures: two sample cycles in a temporary project, then each dashboard tab at
# 1,400 px and the report's page 1, as small PNGs in docs/.
screenshots: install system-deps
	$(PY) -m riskwatch.screenshots docs

sample-data: install
	$(PY) -m riskwatch.sample data

clean:
	rm -rf outputs models data/ingesteddata data/quarantine
