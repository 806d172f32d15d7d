# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
MLFLOW_VENV := .venv-mlflow
EVAL_VENV := .venv-eval
BIN := $(VENV)/bin
MLFLOW_VERSION := 3.17.2

.PHONY: install lock run test test-fast mutate lint unit bench clean eval

install: $(VENV)/.installed $(MLFLOW_VENV)/.installed

# The bot's environment: mlflow-tracing only, exactly as deployed (plus dev tools), at the
# versions in requirements.lock (what CI tested); the project itself on top, without resolving.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

# Recompile requirements.lock from pyproject.toml (runtime + dev), e.g. after adding a
# dependency; then `make install` installs it. requirements-eval.lock (runtime + full mlflow,
# for `make eval`) keeps the versions the two have in common.
lock: $(VENV)/.installed
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--custom-compile-command 'make lock' --quiet --output-file requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra eval --constraint requirements.lock \
		--python-version 3.11 --custom-compile-command 'make lock' --quiet \
		--output-file requirements-eval.lock

# The local tracking server is a service with an environment of its own (full mlflow).
$(MLFLOW_VENV)/.installed:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(MLFLOW_VENV)/bin/pip install --quiet 'mlflow==$(MLFLOW_VERSION)'
	@touch $@

# `make eval`'s environment, built on its first use: full mlflow (mlflow.genai.evaluate) beside
# the bot's runtime dependencies and the project, never in the bot's own .venv. Full mlflow
# brings the same mlflow-tracing as the bot's (one `mlflow` package; `pip check` proves it).
$(EVAL_VENV)/.installed: pyproject.toml requirements-eval.lock
	$(PYTHON) -m venv $(EVAL_VENV)
	$(EVAL_VENV)/bin/pip install --quiet --upgrade pip
	$(EVAL_VENV)/bin/pip install --quiet -r requirements-eval.lock
	$(EVAL_VENV)/bin/pip install --quiet --no-deps -e .
	$(EVAL_VENV)/bin/pip check >&2
	@touch $@

# Replays the evaluation dataset through the bot's answer path and scores it
# (docs/feedback-to-better-bot.md). Options: make eval EVAL_ARGS="--limit 20 --model …".
eval: $(EVAL_VENV)/.installed
	$(EVAL_VENV)/bin/python -m evaluation $(EVAL_ARGS)

# No Slack tokens: a local Slack sandbox; no MLFLOW_TRACKING_URI: a local MLflow (sandbox/devstack.py).
# `exec`: the launcher is make's own child, so a Ctrl-C it handles (exit 0) is not reported as
# an "Interrupt" (sh, killed by the terminal's SIGINT while it waited, would be).
run: install
	exec env MLFLOW_SERVER_BIN=$(abspath $(MLFLOW_VENV))/bin/mlflow $(BIN)/python -m sandbox.devstack

lint: $(VENV)/.installed
	$(BIN)/ruff check bot config handlers devkit sandbox bench tests evaluation
	$(BIN)/ruff format --check bot config handlers devkit sandbox bench tests evaluation
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m devkit.doc_links README.md docs

# Two workers, a test file each at a time (each its own servers): most tests wait on processes.
unit: install
	$(BIN)/pytest --numprocesses 2 --dist loadfile $(PYTEST_ARGS)

test: lint unit

# The fast layer alone (no process started: tests/conftest.py marks those `slow`): < 30 s.
test-fast: install
	$(BIN)/pytest --numprocesses 3 --dist load -m "not slow" $(PYTEST_ARGS)

# Not part of `make test`: mutation testing of the pure modules against the fast layer
# ([tool.mutmut] in pyproject.toml; 2-4 minutes on two cores). Survivors: mutmut results.
mutate: install
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut export-cicd-stats
	@$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
	tried = s['total'] - s['skipped']; \
	print(f\"killed {s['killed']} of {tried} mutants ({100 * s['killed'] / tried:.1f}%)\")"

# Not part of `make test`: runs for about 25 minutes and prints its figures (BENCHMARKS.md).
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Not part of `make test`: an hour (SOAK_MINUTES) of 5 questions/s and 2 votes/s with the
# tracking server restarted twice and the worker killed once; a table every 5 minutes, the
# totals at the end (bench/soak.py).
SOAK_MINUTES ?= 60
.PHONY: soak
soak: install
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) $(EVAL_VENV) .pytest_cache .mypy_cache .ruff_cache

# Times /feedback-report on 10k and 100k seeded answers, from the server's aggregates and page
# by page (not part of `make test`). Other sizes: make bench-report BENCH_ARGS="--sizes 10000".
.PHONY: bench-report
bench-report: install
	$(BIN)/python bench/report_bench.py $(BENCH_ARGS)
