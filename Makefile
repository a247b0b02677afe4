# Desk: `make run` serves Desk with demo data; `make test` runs the whole suite.
# Both set everything up on a fresh machine: a Python 3.12+ virtualenv in .venv,
# the project installed from pyproject.toml, the database migrated.

VENV := .venv
PY := $(VENV)/bin/python
# The bot SDK (its own package) and the virtualenv its tests and recipes run in.
SDK := sdk/python
SDK_VENV := .venv-sdk
SDK_PY := $(SDK_VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := desk.settings

.PHONY: run test setup translations messages bench bench-large lint browser-deps clean

# Desk depends on the bot SDK in sdk/python (its demo bot uses it): both install here.
$(VENV)/.installed: pyproject.toml $(SDK)/pyproject.toml
	@interpreter=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "Creating $(VENV) with $$interpreter"; rm -rf $(VENV); \
		"$$interpreter" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ./$(SDK) -e ".[test]"
	@touch $@

# The SDK is tested from its own virtualenv, as a bot installs it (no Desk inside), with
# the frameworks its recipes are written for; the Desk server it talks to runs from .venv.
$(SDK_VENV)/.installed: $(SDK)/pyproject.toml
	@interpreter=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(SDK_PY) ]; then \
		echo "Creating $(SDK_VENV) with $$interpreter"; "$$interpreter" -m venv $(SDK_VENV) || exit 1; \
	fi
	$(SDK_PY) -m pip install --quiet --upgrade pip
	$(SDK_PY) -m pip install --quiet -e "./$(SDK)[test,recipes]"
	@touch $@

# The translations: the committed .po files compiled into the .mo files Django reads.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)
%.mo: %.po $(VENV)/.installed
	$(PY) scripts/compile-translations $<
translations: $(MO_FILES)

setup: $(VENV)/.installed translations
	@mkdir -p var
	$(PY) manage.py migrate --noinput

run: setup
	$(PY) manage.py demo_setup
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# The racing-writer tests also run on PostgreSQL, where the constraints are the real answer,
# and so do the tests of input PostgreSQL refuses where SQLite does not (`postgres`).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/desk
# The whole suite runs on this many pytest-xdist workers, a test module at a time (a
# module's servers and browser start once). More workers than cores: many tests wait on
# timers and idle sockets rather than compute.
PYTEST_WORKERS ?= 4

test: $(VENV)/.installed $(SDK_VENV)/.installed translations
	@mkdir -p var
	$(VENV)/bin/ruff check .
	scripts/test-prereqs
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		echo "Racing-writer and PostgreSQL-specific tests on PostgreSQL:"; \
		DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest -q -m "concurrency or postgres" -p no:cacheprovider || exit 1; \
	elif [ "$${CI:-}" = true ]; then echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; \
	else echo "PostgreSQL not running: racing-writer tests ran on SQLite only."; fi
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)
	@echo "The bot SDK ($(SDK)), against a Desk server its tests start:"
	DESK_PYTHON=$(abspath $(PY)) $(SDK_PY) -m pytest $(SDK) $(SDK_PYTEST_ARGS)

bench: setup
	@$(PY) -c 'import matplotlib' 2>/dev/null || $(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/run.py

# The Reports at 100k and 1M tickets, and the inbox search at 100k tickets with 1M lines
# (each large dataset takes several minutes to make, once).
bench-large: setup
	$(PY) bench/run.py --large

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(SDK_VENV) var

# After changing user-facing strings: the catalogs gain the new msgids (then translate
# them in locale/*/LC_MESSAGES/*.po; tests/test_translations.py fails until every one is).
# Needs GNU gettext's xgettext (Debian: gettext).
MESSAGES_IGNORE := --ignore=.venv --ignore=.venv-sdk --ignore=sdk --ignore=tests --ignore=bench \
	--ignore=var --ignore=staticfiles --ignore=scripts --ignore=docs
messages: $(VENV)/.installed
	$(PY) manage.py makemessages --no-location --no-obsolete -l fr -l de -l es $(MESSAGES_IGNORE)
	$(PY) manage.py makemessages --no-location --no-obsolete -d djangojs -l fr -l de -l es \
		$(MESSAGES_IGNORE) --ignore=templates
