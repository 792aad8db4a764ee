# davinci-pa: `make serve` runs the service on http://127.0.0.1:8080, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: venv serve test lint typecheck pytest docs node clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Migrates the database, trusts the demo EHR key and registers the demo SMART client in
# examples/keys (test-only keys) unless DAVINCI_PA_TRUSTED_ISSUERS / DAVINCI_PA_CLIENTS are
# set; validates PAS submissions against the PAS IG package when it sits in ../shared/igs.
serve: venv
	$(BIN)/davinci-pa db upgrade
	DAVINCI_PA_TRUSTED_ISSUERS="$${DAVINCI_PA_TRUSTED_ISSUERS:-examples/keys/trusted-issuers.json}" \
	DAVINCI_PA_CLIENTS="$${DAVINCI_PA_CLIENTS:-examples/keys/demo-clients.json}" \
	DAVINCI_PA_IG_PACKAGES="$${DAVINCI_PA_IG_PACKAGES:-$(wildcard ../shared/igs/davinci_pas_2.2.1.tgz)}" \
	DAVINCI_PA_ALLOWED_SUBSCRIPTION_ENDPOINTS="$${DAVINCI_PA_ALLOWED_SUBSCRIPTION_ENDPOINTS:-http://127.0.0.1:*,http://localhost:*}" \
	  $(BIN)/davinci-pa serve --host $(HOST) --port $(PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest -q

# The documentation site (mkdocs.yml): every page in the nav, every link and anchor resolved.
docs: venv
	$(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
