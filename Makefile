# The book's two commands: `make book` and `make test`. Each does its own set-up.
#
#   make book   build the HTML book into _build/html, executing every notebook
#   make test   lint, unit tests, every notebook under nbval, the browser test
#   make lab    open JupyterLab on chapters/
#   make serve  serve the built book on http://127.0.0.1:8000/ (its in-browser copy needs http)
#   make preview CHAPTERS="chapters/x.ipynb"  build just those chapters
#   make bench  time lib's LSTM/GRU against PyTorch (not part of the tests)
#   make clean  remove build output and caches (keeps .venv)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
BIN        := $(VENV)/bin
MATHJAX    := _vendor/mathjax/tex-chtml-full.js
MATHJAX_VERSION := 3.2.2
AXE        := .build/axe/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1
JOBS       ?= 2

# Quiet, reproducible notebook kernels: no debugger warning on stderr, no
# hash randomisation.
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export PYTHONHASHSEED := 0
# No progress bars in built pages or test runs (lib.fit shows them to people only).
export NNBOOK_NO_PROGRESS := 1
# One BLAS thread per process: the book and the tests run two kernels at a time on two cores, and
# NumPy's default thread pool then oversubscribes them (small matrix products ran ~10x slower).
# `make lab` and `make bench` unset them (the benchmark sets its own thread count).
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
DEFAULT_THREADS := env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS -u MKL_NUM_THREADS

.PHONY: help book test lint preview lab git-filter serve bench clean distclean

help:
	@sed -n '1,10p' Makefile | sed 's/^# \{0,1\}//'

# --- set-up --------------------------------------------------------------------
$(VENV)/bin/activate:
	$(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Readers' environment: rebuilt when the requirements or the package change. --no-compile: pip would
# byte-compile every installed module one by one (torch, scipy, jupyterlab: about 50 s of CPU, three
# quarters of the install); Python compiles, and caches, only the modules a program imports - so the
# recipes here must be allowed to write that cache (a shell with PYTHONDONTWRITEBYTECODE set would
# otherwise recompile numpy, matplotlib, scipy and torch in every kernel: about 3-6 s of CPU each).
PIP_INSTALL := $(PY) -m pip install --quiet --no-compile
unexport PYTHONDONTWRITEBYTECODE
$(VENV)/.book-installed: requirements.txt pyproject.toml | $(VENV)/bin/activate
	$(PIP_INSTALL) -r requirements.txt -e .
	touch $@

# Maintainers' environment (tests, lint, browser test, PyTorch cross-checks).
$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.book-installed
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

# MathJax from the npm registry, served from the book itself (no CDN). Not in _static/:
# Jupyter Book would add a script tag for every .js file found there.
$(MATHJAX):
	rm -rf .build/npm _vendor/mathjax
	mkdir -p .build/npm _vendor
	npm install --silent --no-audit --no-fund --prefix .build/npm mathjax@$(MATHJAX_VERSION)
	cp -r .build/npm/node_modules/mathjax/es5 _vendor/mathjax

# axe-core from the npm registry, for the browser test's accessibility check (never in the book).
$(AXE):
	rm -rf .build/axe
	npm install --silent --no-audit --no-fund --prefix .build/axe axe-core@$(AXE_VERSION)

# JupyterLite's build tools for the in-browser copy of the book (tools/lite.py), pinned and hashed, kept
# out of .venv (their jupyterlab_widgets conflicts with the readers'). PYODIDE_DIST=<URL, folder or
# tarball of Pyodide 0.27.7> takes Pyodide's packages from there instead of the pinned transport package.
# (The stamp lives outside .build/lite: the JupyterLite build resets the times of the files in there.)
LITE_TOOLS := .build/lite-tools.installed
PYODIDE_DIST ?=
export PYODIDE_DIST
$(LITE_TOOLS): requirements-lite.txt | $(VENV)/bin/activate
	rm -rf .build/lite/pkgs
	$(PIP_INSTALL) --no-deps --require-hashes --target .build/lite/pkgs -r requirements-lite.txt
	touch $@

# Headless Chromium for the browser test: Debian's package, never a download.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser test needs Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
	fi

# --- the book ------------------------------------------------------------------
# jupyter-cache keys on cell source only: tools/cache_guard.py clears the cache
# when lib/, the requirements or the execution config change. tools/execute.py
# then runs the uncached notebooks $(JOBS) at a time, so the build only renders.
book: $(VENV)/.book-installed $(MATHJAX) $(LITE_TOOLS)
	$(PY) tools/cache_guard.py
	$(PY) tools/execute.py --jobs $(JOBS)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	$(PY) tools/lite.py
	$(PY) tools/exec_report.py

# --- the tests -----------------------------------------------------------------
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check lib tests tools chapters $(wildcard benchmarks)
	$(BIN)/codespell chapters lib tests tools $(wildcard benchmarks) README.md intro.md data/README.md

# Unit tests, every chapter under nbval (one kernel per notebook: --dist loadfile),
# and the browser test over the built book; the 15 slowest tests are listed at the end (the time budget).
test: $(VENV)/.dev-installed $(CHROMIUM) $(AXE) book lint
	$(BIN)/pytest -n $(JOBS) --dist loadfile --nbval-lax --nbval-cell-timeout=120 --durations=15 tests chapters

# Build only the given chapters, in _build/preview (the main build is untouched).
preview: $(VENV)/.book-installed $(MATHJAX)
	$(PY) tools/preview.py $(CHAPTERS)

# Outputs never reach git: .gitattributes routes chapters/*.ipynb through the `nbstripout` filter, which
# `make lab` defines in this clone's .git/config (it strips outputs, execution counts, widget state, the
# kernel's language_info and the values JupyterLab's MyST extension stores for {eval} roles; keeps cell
# ids). Outside a git clone (the source zip) there is nothing to set up.
# As root (containers), jupyter needs --allow-root.
NBSTRIPOUT := "$(abspath $(PY))" -m nbstripout --keep-id --extra-keys "metadata.language_info cell.metadata.user_expressions"
git-filter: $(VENV)/.book-installed
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git config filter.nbstripout.clean '$(NBSTRIPOUT)'; \
		git config filter.nbstripout.smudge cat; \
		git config filter.nbstripout.required true; \
		git config diff.ipynb.textconv '$(NBSTRIPOUT) -t'; \
	fi

# JupyterLab's MyST extension (requirements.txt) renders the chapters' MyST, {eval} numbers included; its
# server part is left off: it replaces the notebook notary with one that distrusts every Markdown cell
# showing an {eval} value, so a chapter saved after a run would reopen untrusted, its interactive figures
# as plain text. With the standard notary it reopens trusted; the {eval} values show either way.
LAB_FLAGS := --ServerApp.jpserver_extensions=jupyterlab_myst=False
lab: $(VENV)/.book-installed git-filter
	$(PY) tools/lab_settings.py $(VENV)
	$(DEFAULT_THREADS) -u NNBOOK_NO_PROGRESS $(BIN)/jupyter lab $(LAB_FLAGS) $$([ "$$(id -u)" = 0 ] && echo --allow-root) chapters/

# The in-browser copy (JupyterLite) does not work from file:// URLs: serve the book on loopback.
PORT ?= 8000
serve:
	@test -f _build/html/index.html || { echo "no book in _build/html: make book first" >&2; exit 1; }
	@echo "The book: http://127.0.0.1:$(PORT)/  (Ctrl+C stops)"
	$(PYTHON_SYS) -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

bench: $(VENV)/.dev-installed
	$(DEFAULT_THREADS) $(PY) benchmarks/bench_rnn.py --out benchmarks/results.md

clean:
	rm -rf _build .jupyter_cache .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .build _vendor
