# The two commands: `make demo` runs the system, `make test` runs every check.
.PHONY: demo test lint bootstrap bootstrap-dev bench clean

VENV := .venv/bin

demo: bootstrap
	$(VENV)/lobby demo $(ARGS)

test: bootstrap-dev lint
	$(VENV)/python -m pytest $(PYTEST_ARGS)

lint: bootstrap-dev
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy

bootstrap:
	scripts/bootstrap.sh runtime

bootstrap-dev:
	scripts/bootstrap.sh dev

bench: bootstrap-dev
	$(VENV)/python bench/run_all.py

clean:
	rm -rf build install log .pytest_cache .mypy_cache .ruff_cache test-artifacts
