# Two commands: `make run` serves BookIt with demo data, `make test` runs the suite.
# Without DATABASE_URL both use the embedded PostgreSQL in .data/ (see bookit/db/embedded/).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: run serve test fuzz stress bench install lint migrate db-stop clean

run: install migrate
	@$(MANAGE) seed_demo
	@echo ""
	@echo "BookIt API   http://127.0.0.1:8000/"
	@echo "Swagger UI   http://127.0.0.1:8000/docs"
	@echo "ReDoc        http://127.0.0.1:8000/redoc"
	@echo "Admin        http://127.0.0.1:8000/admin/"
	@echo "Mail         printed here by the queue's worker (EMAIL_URL sends it instead)"
	@echo ""
	@# The job queue's worker beside the server; Ctrl-C (or the server stopping) stops both.
	@$(MANAGE) procrastinate worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:8000

# Production-style: gunicorn (gunicorn.conf.py), debug off, static files collected;
# same database rules as `make run` (embedded PostgreSQL unless DATABASE_URL is set).
serve: export APP_DEBUG = false
serve: install migrate
	$(MANAGE) collectstatic --noinput --verbosity 0
	@echo "BookIt under gunicorn on http://$${GUNICORN_BIND:-127.0.0.1:8000}/ (JSON logs on stdout)"
	@echo "Start the job queue's worker beside it (mail, reminders, webhooks, maintenance jobs):"
	@echo "  $(MANAGE) procrastinate worker"
	$(BIN)/gunicorn -c gunicorn.conf.py bookit.wsgi

# PYTEST_ARGS narrows the run: PYTEST_ARGS="-m 'not slow'" skips the slow system tests
# (fuzzing, gunicorn, the browser) for a quick loop; with no args everything runs, as in CI.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Longer schema-driven fuzzing than the CI run (FUZZ_MAX_EXAMPLES per operation).
fuzz: install
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-150} $(BIN)/pytest -m fuzz $(PYTEST_ARGS)

# Race stress through gunicorn; STRESS_ARGS="--attempts 300 --clients 32" for the CI size.
stress: install
	$(BIN)/python scripts/stress.py $(STRESS_ARGS)

# BookIt against its ceilings (BENCHMARKS.md); BENCH_ARGS="--large-scale 1000000" adds the 1M run.
bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("BookIt needs Python 3.11 or newer (set PYTHON=python3.11)") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

migrate: install
	$(MANAGE) migrate --noinput

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

db-stop: install
	$(BIN)/python -c 'from bookit.db.embedded import cluster; cluster.stop()'

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
