# Every target bootstraps the virtual environment itself: `make run` and `make test`
# work on a fresh clone with nothing but Python and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS_DIR ?= jobs.d
DATA_DIR ?= data
# The operator's view `make run` starts beside the watcher (WEB=0: none).
WEB_HOST ?= 127.0.0.1
WEB_PORT ?= 8080
WEB      ?= 1

.PHONY: venv run test unit integration cli lint typecheck schema bench bench-dispatch bench-compare bench-overlap bench-failover bench-web bench-records bench-prune-burst faults clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The watcher on jobs.d/ with an embedded Redis and 2 RQ workers, data under ./data/
# (DATA_DIR=...). With REDIS_URL set it uses that Redis and starts no workers (add WORKERS=N).
# VERBOSE=1 also shows RQ's own lines for every run.
# Also the web page (`scheduler web`, it prints its URL) in the background on WEB_PORT; it
# stops with the watcher (Ctrl-C), and a web that cannot start leaves the watcher running.
run: $(STAMP)
	-$(BIN)/scheduler validate --jobs-dir $(JOBS_DIR)
	@web=; if [ "$(WEB)" != 0 ]; then \
	  $(BIN)/scheduler web --jobs-dir $(JOBS_DIR) --data-dir $(DATA_DIR) --host $(WEB_HOST) --port $(WEB_PORT) & web=$$!; \
	fi; \
	stop() { [ -z "$$web" ] || { kill $$web 2>/dev/null; wait $$web 2>/dev/null; }; }; \
	trap 'stop; exit 143' TERM; trap 'stop; exit 130' INT; \
	$(BIN)/scheduler run --jobs-dir $(JOBS_DIR) --data-dir $(DATA_DIR) --log-format console $(if $(WORKERS),--workers $(WORKERS)) $(if $(VERBOSE),--verbose); \
	status=$$?; stop; exit $$status

# The whole suite in TEST_WORKERS processes (pytest-xdist; TEST_WORKERS=0: one process).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS))

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

cli: $(STAMP)
	$(BIN)/python -m pytest -q tests/cli

lint: $(STAMP)
	$(BIN)/ruff check scheduler tests bench
	$(BIN)/ruff format --check scheduler tests bench
	$(BIN)/mypy

# Rewrites schemas/job.schema.json and defaults.schema.json from the models (a test fails when it is stale).
schema: $(STAMP)
	$(BIN)/scheduler schema > schemas/job.schema.json
	$(BIN)/scheduler schema --defaults > schemas/defaults.schema.json

bench: $(STAMP)
	$(BIN)/python bench/validate.py

# The watcher: 1,000 runs due in the same second, and 100,000 jobs idle (several minutes).
bench-dispatch: $(STAMP)
	$(BIN)/python bench/dispatch.py

# The watcher's start at 100,000 jobs: cold, restarted (the job cache), peak RSS, idle CPU,
# then the same with a ledger of 300,000 runs (~8 min). BASELINE=DIR also runs another
# checkout the same way, side by side.
bench-startup: $(STAMP)
	$(BIN)/python bench/startup.py $(if $(BASELINE),--baseline $(BASELINE))

# The extra cost per dispatch of the overlap and pause checks, at 10,000 jobs (under a minute).
bench-overlap: $(STAMP)
	$(BIN)/python bench/overlap.py

# 10 million runs across 10,000 jobs: history/status/web query times, bytes per run, a prune
# of a million runs (generation ~3 min; needs ~5 GB in bench/.records/, REUSE=1 keeps it).
bench-records: $(STAMP)
	$(BIN)/python bench/records.py $(if $(REUSE),--reuse)

# The 1,000-run burst's p99 with and without a prune of a million runs under way (~5 min).
bench-prune-burst: $(STAMP)
	$(BIN)/python bench/prune_burst.py

# Leader loss (kill -9 and SIGTERM) to the new leader's first dispatch, two watchers (~2 min).
# JOBS=100000 TRIALS=2: with 100,000 jobs due hours away, the takeover itself (~10 min).
bench-failover: $(STAMP)
	$(BIN)/python bench/failover.py $(if $(JOBS),--jobs $(JOBS)) $(if $(TRIALS),--trials $(TRIALS))

# `scheduler web` at 10,000 jobs under 200 clients (wrk if on PATH), and the burst's p99
# lateness without and with that load (~3 min). QUICK=1: a smoke run.
bench-web: $(STAMP)
	$(BIN)/python bench/web.py $(if $(QUICK),--quick)

# The fault-injection suite alone (it also runs in `make test`).
faults: $(STAMP)
	$(BIN)/python -m pytest -q -m faults tests/faults

# Ours against RQ's cron scheduler, rq-scheduler and APScheduler 3 on one private Redis
# (about 20 min; the peers go in bench/.peers-venv, made on first use). QUICK=1: a smoke run.
bench-compare: $(STAMP)
	$(BIN)/python bench/compare.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
