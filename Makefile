# fa-companion: `make` builds the venv and every figure; `make test` runs the tests.
# Outputs go to build/ (or build/quick/ with QUICK=1); nothing generated is committed.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:

PYTHON ?= python3
# Notebooks are independent and single-threaded: `make` builds them one per core. (nproc
# would answer 1 in a sub-make, which sees the OMP_NUM_THREADS=1 exported below.)
JOBS   ?= $(shell env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1)
VENV   := .venv
# `make USE_CONDA=1` inside an active conda environment installs into it instead of creating .venv.
ifeq ($(USE_CONDA),1)
ifdef CONDA_PREFIX
VENV   := $(CONDA_PREFIX)
endif
endif
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
QUICK  ?=
BUILD  := build$(if $(QUICK),/quick)

# One BLAS thread: bit-for-bit reproducible numbers (OpenBLAS results change with
# the thread count), and fastest for `make -j2` on two cores.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export JUPYTER_PREFER_ENV_PATH := 1
# Keep freed ~MB arrays in the heap: by default glibc returns them to the OS and every
# step of a large-k run page-faults them back in (measured 4.5x slower per operation at
# k = 3200). glibc reads these only at process start, so they are set here.
export MALLOC_TRIM_THRESHOLD_ := 268435456
export MALLOC_MMAP_THRESHOLD_ := 268435456
export PYTHONHASHSEED := 0
export SOURCE_DATE_EPOCH := 0

# The pinned versions the figures were checked with, for every supported Python in one file (an
# environment marker picks the version where one Python needs its own); `make lock` writes it.
LOCK  := requirements/lock.txt

# The explorer (notebooks/explore.py) is for playing: make runs only the notebooks that check claims.
# Longest first (times of `make` on two cores; the quick sizes order differently), so the two
# jobs of `make -j2` finish together instead of one slow notebook starting last.
ORDER     := $(if $(QUICK),linear_network convergence beyond_nonlinear beyond_real_data separation beyond_rules \
             orthogonal beyond_depth your_data,linear_network convergence beyond_rules separation beyond_nonlinear \
             orthogonal beyond_real_data beyond_depth your_data)
FIRST     := $(wildcard $(patsubst %,notebooks/%.py,$(ORDER)))
SOURCES   := $(FIRST) $(filter-out notebooks/explore.py $(FIRST),$(sort $(wildcard notebooks/*.py)))
NOTEBOOKS := $(patsubst notebooks/%.py,$(BUILD)/notebooks/%.ipynb,$(SOURCES))
# A notebook depends on the science and on the tooling it runs with; never on the
# report, the catalog or the docs tool, so editing those reruns no notebook.
CORE      := $(wildcard fa_core/*.py) companion/__init__.py companion/claims.py companion/data.py \
             companion/data/digits.csv.gz companion/figures.py companion/atomic.py companion/notebook.py \
             companion/pipeline.py

.PHONY: all figures executed report docs sabotage environment test run params lab clean distclean venv bench \
        bench-deps help
# Build every figure, then the report, even if a notebook failed (its ✗ shows in the report); then fail.
all:
	@$(MAKE) --no-print-directory figures; status=$$?; $(MAKE) --no-print-directory --jobs=$(JOBS) report || status=1; exit $$status

help:
	@echo "make             build .venv, execute every notebook, then the report (build/)"
	@echo "make QUICK=1     the same at tiny sizes (notebooks/quick/*.yaml), into build/quick/"
	@echo "make figures     execute every notebook, without the report (make executed: the same, unlocked)"
	@echo "make test        run the whole test suite"
	@echo "make report      the offline claims report, build/report/index.html (part of make)"
	@echo "make docs        refresh the README gallery in docs/ from a full build"
	@echo "make sabotage    run the claim notebooks under deliberate breakages; writes docs/sabotage.json"
	@echo "make run NB=separation PARAMS='eta=0.2 steps=1e4'   one notebook, your parameters, into build/run/separation/"
	@echo "make params NB=separation   list a notebook's parameters"
	@echo "make lab         JupyterLab on notebooks/, where a double click opens a .py as a notebook (LAB_ARGS=... for more)"
	@echo "make venv        create .venv with the pinned dependencies (every target does it first)"
	@echo "make environment write environment.yml for conda users, pinned from the lock"
	@echo "make bench       engine benchmark (bench/); make bench-deps adds the PyTorch/biotorch competitor"
	@echo "make clean       remove build/;  make distclean also removes .venv"
	@echo "make help        this list"

venv: $(STAMP)
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "fa-companion needs Python >= 3.10; $(PYTHON) is " + sys.version.split()[0])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# setuptools reports every editable install with a warning ("Editable installation. Please be
	@# careful with folders ... with the same name as your package"); its warning classes are meant
	@# to be filtered through PYTHONWARNINGS.
	PYTHONWARNINGS='ignore:Editable installation' $(PY) -m pip install --quiet --constraint $(LOCK) -e '.[dev]'
	@# The wheel holds fa_core only; the build tooling (companion/) is found in this folder through a
	@# .pth file in the venv's site-packages, from any working folder (notebook kernels run in notebooks/).
	@$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "fa_companion_tooling.pth").write_text("$(CURDIR)\n")'
	@touch $@

# Regenerate the lock for every Python from 3.10 on with uv (installed into the venv for this target
# only; nothing runs with it). Versions already locked are kept where they still resolve; add
# LOCK_ARGS=--upgrade for the newest. Then `make environment`.
UV_VERSION := 0.13.8
LOCK_ARGS  ?=
.PHONY: lock check-python
lock: $(STAMP)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.10 --all-extras --quiet \
	  --annotation-style line --custom-compile-command "make lock" --output-file $(LOCK) $(LOCK_ARGS)

# Another Python, in its own venv and build folder under build/py3XX/:
#   make check-python PYTHON=python3.13            the quick build (every notebook's checks)
#   make check-python PYTHON=python3.13 CHECK=test  the test suite
CHECK  ?= all
PYTAG   = $(shell $(PYTHON) -c 'import sys; print("py%d%d" % sys.version_info[:2])' 2>/dev/null)
check-python:
	@test "$(origin PYTHON)" = "command line" || { echo "usage: make check-python PYTHON=python3.13 [CHECK=test]"; exit 2; }
	@test -n "$(PYTAG)" || { echo "check-python: PYTHON=$(PYTHON) does not run; give a Python 3.10 or newer"; exit 2; }
	@$(MAKE) --no-print-directory VENV=build/$(PYTAG)/venv BUILD=build/$(PYTAG)/quick QUICK=1 $(CHECK)

# The notebooks, one per core. Two builds of one folder wait for each other (companion/lock.py):
# the second then finds the notebooks up to date.
figures: $(STAMP)
	@$(PY) -m companion.lock $(BUILD)/.lock $(MAKE) --no-print-directory --jobs=$(JOBS) --output-sync=line executed
	@echo "figures: $(BUILD)/figures   results: $(BUILD)/results   notebooks: $(BUILD)/notebooks"

executed: $(NOTEBOOKS)

# The pipeline writes the notebook under a temporary name and renames it only on success.
$(BUILD)/notebooks/%.ipynb: notebooks/%.py $(if $(QUICK),notebooks/quick/%.yaml) $(CORE) $(STAMP)
	@TQDM_DISABLE=1 $(PY) -m companion.pipeline $< --output $@ --build-dir $(BUILD) $(if $(QUICK),--quick)

# First each notebook's HTML page (companion/pages.mk: only the pages whose notebook changed, several
# at a time under -j), then the page of claims around them.
report: $(STAMP)
	@$(MAKE) --no-print-directory -f companion/pages.mk BUILD=$(BUILD) PY=$(PY)
	@$(PY) -m companion.report --build $(BUILD)

# Refresh the README gallery (docs/) from a full build; commit docs/ afterwards.
docs: $(STAMP)
	$(PY) -m companion.docs

# environment.yml for conda users, pinned from the lock.
environment: $(STAMP)
	$(PY) -m companion.environment

# Which checks turn ✗ when the science is broken on purpose (shown in the report).
sabotage: $(STAMP)
	$(PY) -m companion.sabotage --out docs/sabotage.json

test: $(STAMP)
	$(PY) -m pytest -q

# NB, PARAMS and LAB_ARGS reach the recipes as environment variables (make exports variables set
# on its command line, and these lines export them otherwise): the shell substitutes "$$NB" as
# one word and never interprets its value, so quotes, backticks, $( ) or ; in it run nothing.
NB ?=
PARAMS ?=
LAB_ARGS ?=
export NB PARAMS LAB_ARGS
run: $(STAMP)
	@$(PY) -m companion.pipeline "$$NB" --run $(if $(QUICK),--quick) --params "$$PARAMS"

params: $(STAMP)
	@$(PY) -m companion.pipeline "$$NB" --list-params

# JupyterLab with the project's settings (copied, so the tracked ones never change): .py opens as a
# notebook, and jupytext reads notebooks/jupytext.toml inside the server's root, notebooks/.
# Interactive runs write their figures and results to build/interactive/ (the notebooks' build_dir default).
# As root (e.g. in a container) Jupyter needs --allow-root; LAB_ARGS adds arguments, e.g. LAB_ARGS=--no-browser.
lab: $(STAMP)
	@mkdir -p build/lab-settings && cp -rn companion/lab-settings/. build/lab-settings/
	JUPYTERLAB_SETTINGS_DIR=$(CURDIR)/build/lab-settings $(VENV)/bin/jupyter lab notebooks/ \
	    $(if $(filter 0,$(shell id -u)),--allow-root) $$LAB_ARGS

BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) bench/bench.py --out build/bench $(BENCH_ARGS)

# Optional competitors for the bench (never runtime dependencies): PyTorch CPU and biotorch.
bench-deps: $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet --no-deps biotorch

clean:
	rm -rf build

distclean: clean
	rm -rf $(VENV) *.egg-info
