# flightdq: `make demo` runs the main job on the embedded lake, `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies first. `make help` lists every target.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
UV_PIN := uv==0.13.9

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export GX_ANALYTICS_ENABLED := False
export FLIGHTDQ_LAKE ?= $(CURDIR)/lake

.PHONY: help install browser demo test test-fast lint format bench airflow sandbox clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip $(UV_PIN) || true
	@# uv (from PyPI) installs the same pins several times faster than pip; pip does it where uv cannot.
	if [ -x $(BIN)/uv ] && $(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.txt -c constraints.txt; \
	  then $(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e . ; \
	  else $(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt \
	    && $(BIN)/python -m pip install --quiet --no-deps -e . ; \
	fi
	touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned dependencies and the flightdq command

demo: install ## generate a sample lake with planted faults and run the daily DQ DAG over it
	$(BIN)/python -m flightdq_dev.demo

browser: ## Debian's chromium for the browser test, when missing and this user can install it
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "make browser: chromium is missing and cannot be installed here; the browser test will skip"; }

# pytest-xdist processes for make test: two per core by default, because the system tests spend much
# of their time waiting on Airflow's own processes (a scheduler's loop, a deferred task, a browser);
# TEST_WORKERS=0 runs in one process. Whole files go to a worker (--dist loadfile), so a module's
# fixtures (an emulator, an Airflow site) are made once, in the order tests/conftest.py gives them
# (the longest files first; --no-loadscope-reorder keeps it).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))

test: install browser ## run the whole test suite: tests/unit, tests/emulator (moto), tests/system (Airflow, browser)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: install ## the unit layer only (tests/unit: no Airflow runs, no emulator), for the inner loop
	$(BIN)/python -m pytest -n auto tests/unit -m "not slow"

lint: install ## ruff, with its Airflow rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check include dags plugins tests

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format include dags plugins tests

bench: install ## time and memory on a generated global-size day; DAG parse times
	$(BIN)/python -m flightdq_dev.bench

airflow: install ## a local Airflow on 127.0.0.1:8080 with the DAGs and the "Flight data quality" page (Ctrl-C stops it)
	./scripts/airflow-local.sh

sandbox: install ## a local AWS (moto on 127.0.0.1) seeded with a sample lake for FLIGHTDQ_BACKEND=aws (Ctrl-C stops it)
	$(BIN)/python -m flightdq_dev.emulator --seed

clean: ## remove the venv, the local Airflow home and the generated lake
	rm -rf $(VENV) .airflow lake artifacts .pytest_cache .ruff_cache .hypothesis

.PHONY: compose-env airflow-cli

compose-env: ## .env for docker compose from .env.example, with a fresh Fernet key and your user id (never overwrites .env)
	@if [ -e .env ]; then echo "compose-env: .env exists, left unchanged"; exit 0; fi; \
	key="$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" \
	  && [ -n "$$key" ] && umask 077 \
	  && sed -e "s|^AIRFLOW__CORE__FERNET_KEY=.*|AIRFLOW__CORE__FERNET_KEY=$$key|" \
	         -e "s|^AIRFLOW_UID=.*|AIRFLOW_UID=$$(id -u)|" .env.example > .env \
	  && echo "compose-env: wrote .env (a new Fernet key, AIRFLOW_UID=$$(id -u)); edit it, never commit it"

airflow-cli: install ## any airflow command on the local Airflow's DB: make airflow-cli ARGS="dags list"
	./scripts/airflow $(ARGS)
