# fitwerk: `make demo` runs the whole system on this machine, `make test` proves it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENDOR_DIRS := admin/static/vendor kiosk/static/vendor
TEST_VENDOR := tests/vendor

.PHONY: setup demo lint test test-fast mutate bench dist system-deps test-deps browser-deps node-deps clean \
        translations translations-extract translations-update translations-init

setup: $(VENV)/.installed vendor translations

# pyscard and evdev are built from source: system-deps first (libpcsclite-dev, a compiler).
$(VENV)/.installed: pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json | node-deps
	npm ci --no-audit --no-fund
	touch $@

# npm (with Node.js) from Debian when it is not on the PATH, as on a fresh machine:
# only set-up needs it, to fetch the front-end files; the apps and the wheel never do.
node-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "installing: npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; \
	fi

# htmx and its SSE extension come from the npm registry, pinned by package-lock.json,
# and are served by each app from its own static folder (never committed, never from a CDN).
# axe-core (same registry, same lock file) is for the accessibility tests only: the apps never serve it.
vendor: node_modules/.installed
	@for d in $(VENDOR_DIRS); do \
	  mkdir -p $$d; \
	  cp node_modules/htmx.org/dist/htmx.min.js $$d/htmx.min.js; \
	  cp node_modules/htmx-ext-sse/dist/sse.min.js $$d/sse.min.js; \
	done
	@mkdir -p $(TEST_VENDOR) && cp node_modules/axe-core/axe.min.js $(TEST_VENDOR)/axe.min.js

# gettext catalogues, one domain per app, in common/translations (see README, "Languages").
# The .po files are the source; the .mo files the apps read are compiled here, never committed.
PYBABEL := $(VENV)/bin/pybabel
TRANSLATIONS := common/translations
DOMAINS := kiosk admin

translations: $(VENV)/.installed
	@for d in $(DOMAINS); do $(PYBABEL) -q compile -d $(TRANSLATIONS) -D $$d || exit 1; done

# Collect the messages of each app (and of common/, which both use) into its .pot template.
translations-extract: $(VENV)/.installed
	$(PYBABEL) -q extract -F babel.cfg -k _l -k lazy_gettext -c TRANSLATORS: --sort-by-file \
	  --add-location=file --project=fitwerk --copyright-holder="the fitwerk authors" -o $(TRANSLATIONS)/kiosk.pot kiosk common
	$(PYBABEL) -q extract -F babel.cfg -k _l -k lazy_gettext -c TRANSLATORS: --sort-by-file \
	  --add-location=file --project=fitwerk --copyright-holder="the fitwerk authors" -o $(TRANSLATIONS)/admin.pot admin common

# Merge new and changed messages into every language's .po (then translate, then `make translations`).
translations-update: translations-extract
	@for d in $(DOMAINS); do $(PYBABEL) -q update --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date -i $(TRANSLATIONS)/$$d.pot -d $(TRANSLATIONS) -D $$d || exit 1; done

# A new language: make translations-init LANGUAGE=xx (and add it to common/i18n.py LANGUAGES).
translations-init: translations-extract
	@test -n "$(LANGUAGE)" || { echo "usage: make translations-init LANGUAGE=xx"; exit 2; }
	@for d in $(DOMAINS); do $(PYBABEL) init -i $(TRANSLATIONS)/$$d.pot -d $(TRANSLATIONS) -D $$d -l $(LANGUAGE) || exit 1; done

# System libraries: libusb for nfcpy's USB badge readers; pcscd and libccid for PC/SC readers;
# libpcsclite-dev, gcc, python3-dev and the kernel headers to build pyscard and evdev;
# systemd for systemd-analyze and systemd-sysusers in the deployment tests.
SYSTEM_PACKAGES := libusb-1.0-0 pcscd libccid libpcsclite-dev gcc python3-dev linux-libc-dev systemd
# Test machines only: vpcd is a virtual PC/SC reader anyone on the network could put a card on.
TEST_PACKAGES := vsmartcard-vpcd

system-deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

test-deps:
	@missing=""; \
	for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; no browser download).
# DejaVu Sans is the kiosk's font and has the letters of every greeting (Arabic too).
browser-deps:
	@missing=""; \
	for p in chromium fonts-dejavu-core poppler-utils; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

demo: setup system-deps
	$(PY) demo.py

# ruff: pyflakes, bugbear and import order, as configured in pyproject.toml.
lint: $(VENV)/.installed
	$(PY) -m ruff check .

test: setup system-deps test-deps browser-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup lint
	$(PY) -m pytest -m 'not slow and not browser' $(PYTEST_ARGS)

# Mutation testing of the rule modules with their fast unit tests ([tool.mutmut] in
# pyproject.toml; tests/mutation_plan.py gives each module its own tests), then the score
# per module and the survivors. Slow (an hour or more on 2 busy cores), so not part of
# `make test`; niced, MUTATE_CHILDREN workers; unchanged functions keep their results
# from the previous run in mutants/ (`rm -rf mutants` for a run from scratch).
MUTATE_CHILDREN ?= 2
mutate: setup $(VENV)/.mutate
	@# mutmut copies the tree into mutants/ once and never refreshes a file it does not
	@# mutate, and maps tests to functions anew only for new tests: keep only the verdicts
	@# (*.meta), so every file is copied and every test traced again.
	@if [ -d mutants ]; then find mutants -type f ! -name '*.meta' -delete; fi
	nice -n 19 $(PY) -m mutmut run --max-children $(MUTATE_CHILDREN)
	$(PY) tests/mutation_score.py --survivors

$(VENV)/.mutate: pyproject.toml
	$(PY) -m pip install -q -e '.[mutate]'
	touch $@

bench: setup
	$(PY) -m bench

# The wheel and the sdist in $(DIST)/, built from the sdist: htmx and its SSE extension,
# schema.sql and the compiled translations inside, so a Pi installs the wheel with pip
# and never needs Node, make or this tree.
DIST ?= dist
dist: setup translations
	rm -f $(DIST)/fitwerk-*.whl $(DIST)/fitwerk-*.tar.gz
	$(PY) -m build --outdir $(DIST) .

clean:
	rm -rf $(VENV) node_modules $(VENDOR_DIRS) $(TEST_VENDOR) var tests/artifacts dist build mutants
