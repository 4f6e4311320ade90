# The two commands of the README: `make demo` and `make test`.
# Both set the environment up first (tools/setup_env.sh; seconds once done).
VENV ?= .venv
PY := $(VENV)/bin/python
export MMSEQNET_VENV := $(abspath $(VENV))

.PHONY: env demo test

env:
	@bash tools/setup_env.sh

demo: env
	$(PY) tools/run_demo.py

test: env
	$(PY) -m pytest tests
