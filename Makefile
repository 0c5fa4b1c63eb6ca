# formguide: `make demo` runs the main job end to end on the embedded SQLite store,
# `make test` runs ruff and the test suite, `make bench` prints the benchmark table.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FORMGUIDE_DATA ?= $(abspath ../shared/data)
# The demo's store and artifacts live in ./var (absolute, whatever folder a command runs from).
export FORMGUIDE_HOME ?= $(abspath var)
export MPLBACKEND := Agg
PYTEST_WORKERS ?= 2

.PHONY: install demo test lint bench bench-service clean serve chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,postgres,h2o,redis,mlflow]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/formguide info
	$(BIN)/formguide ingest football $(FORMGUIDE_DATA)/football_data
	$(BIN)/formguide train --league E0 --model dixon-coles
	$(BIN)/formguide train --league E0 --model blend
	$(BIN)/formguide models list
	$(BIN)/formguide backtest --league E0 --model blend --from 2023-08-01 --json var/backtest-E0.json
	$(BIN)/formguide predict --league E0 --date 2025-05-18
	$(BIN)/formguide simulate --league E0 --season 2425 --from 2025-03-01 --simulations 20000 --seed 7
	$(BIN)/formguide ingest f1 $(FORMGUIDE_DATA)/f1_ergast $(FORMGUIDE_DATA)/f1_laps
	$(BIN)/formguide train --sport f1 --moment post-quali
	$(BIN)/formguide predict --sport f1 --race 2024-22 --moment post-quali
	$(BIN)/formguide competitions
	$(BIN)/formguide f1 season --data $(FORMGUIDE_DATA)/f1_ergast --output var/f1-season-2024.json --season 2024
	$(BIN)/formguide ingest nfl $(FORMGUIDE_DATA)/nfl_games $(FORMGUIDE_DATA)/nfl_team_stats $(FORMGUIDE_DATA)/nfl_injuries
	$(BIN)/formguide train --sport nfl --all-bet-types
	$(BIN)/formguide backtest --sport nfl --bet-type moneyline --from 2023-08-01 --json var/backtest-nfl-moneyline.json
	$(BIN)/formguide predict --sport nfl --date 2024-12-01 --all-bet-types
	$(BIN)/formguide simulate --sport nfl --season 2024 --from 2024-11-01 --simulations 20000 --seed 7
	$(BIN)/formguide ratings --sport nfl --date 2024-12-01 --png var/nfl-ratings-2024-12-01.png
	$(BIN)/formguide materialise --sport football --league E0 --date 2025-05-18
	$(BIN)/formguide materialise --sport nfl --date 2024-12-01

# The HTTP API on http://127.0.0.1:8000 (docs at /docs) over the demo's store; writes need FORMGUIDE_API_TOKEN.
serve: install
	$(BIN)/formguide serve

lint: install
	$(BIN)/ruff check src tests bench

# The browser test drives Debian's Chromium (never a downloaded browser): installed here when missing.
chromium:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  else echo "chromium is missing and this is not root: run 'sudo apt-get install -y chromium'; the browser test is skipped"; fi; }

test: lint chromium
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

$(VENV)/.bench: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[bench]"
	touch $@

bench: $(VENV)/.bench
	$(BIN)/python bench/run_all.py

# The service's numbers (README "Service numbers"): POST /train -> running, the predictions load test (needs the
# demo store: make demo first), the kill test on PostgreSQL (FORMGUIDE_TEST_PG_URL), /metrics and race fields.
bench-service: install
	$(BIN)/python bench/bench_task_latency.py --n 20 --external-n 20
	$(BIN)/python bench/bench_api_load.py
	$(BIN)/python bench/bench_kill.py
	$(BIN)/python bench/bench_service_reads.py

clean:
	rm -rf var .pytest_cache .ruff_cache
