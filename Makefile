# `make run` and `make test` work from a fresh clone: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test setup lint bench clean

$(BIN)/.installed: pyproject.toml setup.py $(wildcard native/*.c native/*.h native/*.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

# What the browser tests take from the npm registry, pinned in package-lock.json: axe-core
# (accessibility) and Lighthouse (best practices, run by Node on the system Chromium; none of
# them needs an install script, so none runs).
NODE_MODULES := node_modules/.installed
$(NODE_MODULES): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The same entry point as Docker and gil-lab (app/__main__.py), so all three stop the same way,
# time out slow requests and raise the open-file limit.
run: setup
	env GILLAB_HOST=$(HOST) GILLAB_PORT=$(PORT) $(BIN)/python -m app

test: setup $(NODE_MODULES)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check app tests benchmarks
	$(BIN)/mypy

bench: setup
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info app/_native*.so app/lab/_seed node_modules
