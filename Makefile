# Two commands on a fresh machine:  `make demo` (install, then run the main job)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.hmr-installed
IMAGE  ?= examples/lab_three_people.jpg
OUT    ?= out

.PHONY: install system-deps demo test test-fast lint bench clean

install: $(STAMP)

# torch is pinned exactly by constraints.txt (a looser range pulls gigabytes of CUDA wheels). mediapipe 0.10.14 is
# the last release that bundles its models; its declared dependencies pull jax and opencv-contrib (which breaks
# opencv-python-headless on uninstall), so it is installed without them and its real runtime needs are listed in
# requirements-fit.txt.
$(STAMP): pyproject.toml requirements-fit.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt torch torchvision
	$(PIP) install -q -c constraints.txt -e ".[all]" -r requirements-fit.txt
	$(PIP) install -q --no-deps mediapipe==0.10.14
	$(PY) -c "import torch, cv2, mediapipe, hmr; print('hmr installed: torch', torch.__version__)"
	touch $(STAMP)

demo: install
	$(VENV)/bin/hmr predict $(IMAGE) --out $(OUT)

# Chromium (browser tests) and EGL/Mesa (fast renderer): installed when missing and allowed, else one line says how.
system-deps:
	@bash tools/system_deps.sh

test: system-deps install
	$(PY) -m pytest -q

# the edit loop: everything but the tests marked slow (real photos, long fits, exports) or browser (Chromium)
test-fast: install
	$(PY) -m pytest -q -m "not slow and not browser"

# style, formatting, the layer contracts of docs/architecture.md, types; PYTHONPATH=. lets import-linter see demo/
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=. $(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: install
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
