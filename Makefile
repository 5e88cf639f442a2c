# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests run in TEST_WORKERS processes (pytest-xdist, one file per process so module fixtures are
# built once), each on one thread: two processes with multi-threaded PyTorch/OpenMP pools on two
# cores spin against each other and took over 10 minutes instead of 3.
TEST_WORKERS ?= 2
PYTEST := OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

.PHONY: demo test test-fast lint install clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (looked for '$(PYTHON)'); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# torch is pinned first so that pip takes the CPU build on disk instead of a multi-GB CUDA build.
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps mediapipe==0.10.21 rtmlib==0.0.16
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mvmocap demo --out demo_out

test: $(STAMP)
	$(PYTEST)

# the inner loop: everything but the end-to-end runs and long fits (marked slow), under a minute
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf $(VENV) .venv-opensim demo_out
