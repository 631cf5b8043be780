# The two set-up commands of the README: `make run` and `make test`. Everything else is
# optional. Only Python 3.11 is needed: the embedded PostgreSQL comes from a wheel.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Two install stamps: `make run` needs only the runtime requirements (no Playwright, no test
# tools); `make test`, `lint` and `bench` add the development ones.
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
# The address in e-mailed links and printed URLs: where `make run` serves.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: install install-runtime run test lint format db-stop db-status bench clean

$(RUNTIME_STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.runtime-*
	@touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install-runtime: $(RUNTIME_STAMP)

install: $(STAMP)

# Starts the embedded PostgreSQL (or uses DATABASE_URL), migrates, loads the demo clinics
# (idempotent) and serves on http://$(HOST):$(PORT), with the e-mail worker (send_outbox)
# running beside the server and stopped with it. E-mails print to this terminal.
run: install-runtime
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 SITE_URL=$(SITE_URL) $(BIN)/python manage.py seed_demo
	DEBUG=1 SITE_URL=$(SITE_URL) $(BIN)/python manage.py send_outbox & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 SITE_URL=$(SITE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# TESTING=1 tells the settings they serve the test suite (test host, plain http, static files
# from the apps); a bare `pytest` without it stops and says so.
test: install
	TESTING=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmarks of docs/performance.md (optional; about an hour on 2 cores the first time,
# most of it making the scale data, which later runs reuse). BENCH_CLINICS=20
# BENCH_COUNT_MAX=1000 for a quicker look; the results print to the terminal and are kept in
# bench/results/latest.txt. PgBouncer is measured three ways (docs/performance.md): as deployed
# in CI (2 workers, pool of 2), with PgBouncer on a CPU of its own, and with workers enough
# to keep both CPUs busy.
BENCH_CLINICS ?= 300
BENCH_PATIENTS ?= 1000
BENCH_SCALE := --clinics $(BENCH_CLINICS) --patients $(BENCH_PATIENTS)
# The clinic-count benchmark: 10 clinics up to BENCH_COUNT_MAX, of 100 patients each.
BENCH_COUNT_MAX ?= 10000

bench: install
	@mkdir -p bench/results
	bash -o pipefail -c '( set -e; \
	  $(BIN)/python bench/datagen.py $(BENCH_SCALE); \
	  $(BIN)/python bench/rls_overhead.py $(BENCH_SCALE); \
	  $(BIN)/python bench/request_overhead.py $(BENCH_SCALE); \
	  $(BIN)/python bench/datagen.py --clinics $(BENCH_COUNT_MAX) --patients 100 --jobs 2; \
	  $(BIN)/python bench/clinic_count.py --sizes 10,100,1000,$(BENCH_COUNT_MAX) --patients 100; \
	  $(BIN)/python bench/signup.py; \
	  $(BIN)/python bench/migrate_time.py $(BENCH_SCALE); \
	  $(BIN)/python bench/delete.py $(BENCH_SCALE); \
	  $(BIN)/python bench/http_load.py $(BENCH_SCALE); \
	  $(BIN)/python bench/pgbouncer_load.py $(BENCH_SCALE); \
	  $(BIN)/python bench/pgbouncer_load.py $(BENCH_SCALE) --pin; \
	  $(BIN)/python bench/pgbouncer_load.py $(BENCH_SCALE) --workers 4 --pool-size 4 \
	) | tee bench/results/latest.txt'

db-stop:
	@$(BIN)/python -m clinic_saas.embedded_db stop

db-status:
	@$(BIN)/python -m clinic_saas.embedded_db status

clean: db-stop
	rm -rf $(VENV) .pgdata media staticfiles .pytest_cache
