# One entry point for people and CI. Needs only python3 (>= 3.11) and pip: uv is installed
# into .tools/ and every dependency, pinned by uv.lock, into .venv/.
PYTHON ?= python3
UV := .tools/bin/uv
BIN := .venv/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install up release test check lint format bench bench-quick clean-stack faults soak

# A venv of its own for uv; where python3-venv is missing, pip's --target does the same job.
$(UV):
	( $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv==0.13.9 ) \
	  || $(PYTHON) -m pip install --quiet --target .tools uv==0.13.9

.venv/.synced: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --python $(PYTHON)
	touch $@

install: .venv/.synced

# `make up` and `make release` need only the runtime and the `local` group (honcho, embedded
# servers); --inexact keeps what `make install` brought, so neither sync undoes the other.
.venv/.synced-run: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --inexact --no-default-groups --group local \
	  --python $(PYTHON)
	touch $@

# Servers (configured, local or embedded), the release step, then the three processes.
up: .venv/.synced-run
	exec $(BIN)/python -m deploy.up

# Migrations and seed data alone, against DATABASE_URL (or the servers `make up` would use).
release: .venv/.synced-run
	$(BIN)/python -m deploy.up --release-only

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

test: check
	$(BIN)/pytest $(PYTEST_ARGS)

# The fault campaign (docs/reliability.md): kills, drains, Redis and PostgreSQL restarts,
# scheduler kills, poison, a 50,000-task backlog, an exhausted pool; loopback only. -s prints
# each fault's figures (the lines starting with FAULT).
faults: install
	$(BIN)/pytest tests/faults -m faults -s $(PYTEST_ARGS)

# Mixed load on the three processes for SOAK_SECONDS (default 1800), memory sampled; not in CI.
soak: install
	$(BIN)/pytest tests/soak -m soak -s $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench.run $(ARGS)

bench-quick: install
	$(BIN)/python -m bench.run --quick $(ARGS)

# Embedded servers' data (see docs/embedded-servers.md).
clean-stack:
	rm -rf .stack
