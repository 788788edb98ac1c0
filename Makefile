# The two commands of the README: `make run` (the embedded default) and `make test`.
# Both set up everything they need on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test lint check-defs chromium postgres run bench soak clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,deploy]'
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser test drives Debian's Chromium through Playwright (`playwright install` cannot download here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The PostgreSQL tests start a real server from Debian's postgresql-15 (jde_mc_pipeline_tests/postgres.py).
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || (apt-get update -qq && apt-get install -y -qq postgresql-15)

# Both loaders of the code location must accept it: dg (the dg project) and dagster (workspace.yaml).
# A start date is all they need; the other settings are read when a run launches.
check-defs: setup
	PATH=$(abspath $(BIN)):$$PATH VIRTUAL_ENV=$(abspath $(VENV)) JDE_START_DATE=2026-01-01 \
		$(BIN)/dg check defs
	JDE_START_DATE=2026-01-01 DAGSTER_HOME= $(BIN)/dagster definitions validate -w workspace.yaml

test: lint check-defs chromium postgres
	$(BIN)/pytest

run: setup
	$(BIN)/jde-mc demo

bench: setup
	for f in $$(grep -l '^if __name__ == "__main__":' benchmarks/*.py); do \
		[ "$$f" = benchmarks/outage.py ] || $(BIN)/python "$$f" || exit 1; done
	$(BIN)/python benchmarks/end_to_end.py --parties 10000 --naive-peer

# The long reliability runs (numbers in BENCHMARKS.md): Mailchimp down for 10 minutes under the daemon.
soak: setup
	$(BIN)/python benchmarks/outage.py --outage-seconds 600

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
