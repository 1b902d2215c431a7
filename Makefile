# Each target sets up its own environment first (scripts/bootstrap.sh is instant once done).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test test-all demo

setup:
	@bash scripts/bootstrap.sh

# The user guide (mkdocs.yml, strict: a broken link or nav entry fails), built into a temporary
# folder so nothing is written into the checkout. (Not --quiet: it hides the warnings --strict counts.)
DOCS_CHECK = site=$$(mktemp -d) && trap 'rm -rf "$$site"' EXIT && NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir "$$site"

# The CI suite: the import-layer contracts (pyproject.toml), the user guide's build, then fast
# tests plus the real end-to-end runs marked `ci`.
test: setup
	@$(VENV)/bin/lint-imports
	@$(DOCS_CHECK)
	@$(PY) -m pytest -m "not slow or ci" $(PYTEST_ARGS)

# Everything, including the slow real-model tests and the Ray executor.
test-all: setup
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[ray]"
	@$(VENV)/bin/lint-imports
	@$(DOCS_CHECK)
	@$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	@bash scripts/demo.sh $(DEMO_ARGS)
