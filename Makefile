# The two commands: `make dev` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: dev test bench install lint services-up services-down clean zoom-sdk

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/python -m devstack dev

test: install
	$(BIN)/python -m devstack test $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m devstack bench

# The Zoom Video SDK for browsers (only for VIDEO_PROVIDER=zoom), from the npm registry.
zoom-sdk: install
	$(BIN)/python -m devstack zoom-sdk

# axe-core for the accessibility tests, from the npm registry (committed: static/vendor/axe-core/).
.PHONY: axe-core
axe-core: install
	$(BIN)/python -m devstack.axe_core

# The README tour's images (docs/screenshots/), taken by the browser journeys.
.PHONY: screenshots
screenshots: install
	$(BIN)/python -m devstack screenshots

lint: install
	$(BIN)/ruff check .

services-up: install
	$(BIN)/python -m devstack services up

services-down: install
	$(BIN)/python -m devstack services down

clean:
	-$(BIN)/python -m devstack services down
	rm -rf .local $(VENV)
