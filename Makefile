# EI Studio — the commands a developer needs. `make help` lists them.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
# The local worker runs the CFSA pipeline's models (the tiny placeholder model in the demo and the tests).
# 2.13.0 is the CPU build this machine kind keeps on disk; on a GPU box set TORCH=torch (CUDA build).
TORCH  ?= torch==2.13.0
PORT   ?= 8000

.PHONY: help install demo test test-fast lint bench browser clean reliability load-smoke backup restore

help:
	@echo "make demo   - install, set up SQLite + demo data, run the web server and a worker (no services needed)"
	@echo "make test   - install and run the whole test suite (set DATABASE_URL / REDIS_URL for PostgreSQL / Redis)"
	@echo "make lint   - ruff"
	@echo "make bench  - performance benchmarks (bench/), printed as a table"
	@echo "make reliability - load (100k samples, 53 people, 2 min), faults, hardening; writes docs/reliability.md"
	@echo "make load-smoke  - the 20-second load test CI runs (bench/load.py --profile smoke)"
	@echo "make backup [BACKUP=DIR] - database (pg_dump / SQLite copy) + MEDIA_ROOT into DIR (default var/backups/DATE)"
	@echo "make restore BACKUP=DIR  - restore a backup into an empty database and MEDIA_ROOT"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[test,gpu]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py cfsa_run --project "Demo: people photographs" --backend tiny --skip-if-none
	@echo "Starting a Celery worker and the web server on http://$(HOST):$(PORT)/ (Ctrl-C stops both)"
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/celery -A config worker --loglevel WARNING --concurrency 1 --pool solo -Q celery,gpu -B & \
	  $(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# Browser tests need Debian's Chromium (never a Playwright download).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null); \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium chromium-driver"; exit 1; fi; }

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Load, fault and hardening suites (minutes; not part of `make test`): docs/reliability.md gets the figures.
reliability: $(STAMP)
	$(BIN)/python bench/reliability.py $(RELIABILITY_ARGS)

load-smoke: $(STAMP)
	$(BIN)/python bench/load.py --profile smoke --strict --json var/reliability/load-smoke.json $(LOAD_ARGS)

# Backups: the database (pg_dump for PostgreSQL, SQLite's online backup) and MEDIA_ROOT, see README "Backups".
backup: $(STAMP)
	$(BIN)/python manage.py backup $(or $(BACKUP),var/backups/$(shell date +%Y%m%d-%H%M%S))

restore: $(STAMP)
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=DIR (into an empty database and MEDIA_ROOT)"; exit 1; }
	$(BIN)/python manage.py restore $(BACKUP)

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/cfsa.py $(CFSA_BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache .ruff_cache
