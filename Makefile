# Two entry points that work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The quickstart: plan the example specs, apply them to the embedded sandbox
# (its own state under state/, workspace "demo", reset each time), then show that
# a second sandbox plan has nothing left to do (--detailed-exitcode: exit 0 = no changes).
DEMO := $(BIN)/reconciler --workspace demo
demo: $(STAMP)
	@rm -f state/demo.sandbox.json state/demo.sandbox.journal state/demo.emulator.json state/demo.emulator.json.journal
	$(DEMO) validate
	$(DEMO) plan --sandbox
	$(DEMO) apply --sandbox --auto-approve
	$(DEMO) plan --sandbox --detailed-exitcode

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/plan_scale.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
