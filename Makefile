# Set-up and checks. `make test` and `make demo` create .venv and install everything they need.
# torch is pinned to the CPU build that this environment serves locally; choose another build
# with `make TORCH_SPEC="torch==2.5.1" test` (or install torch yourself first).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.ped-installed

.PHONY: install test test-fast lint format demo bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,zoo]"
	$(PY) -m pip install -q --no-deps "onnx2torch==1.5.15"
	$(PY) -m ped zoo install --quiet
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

test: $(STAMP) lint
	$(PY) -m pytest -q --doctest-modules src/ped/scoring.py src/ped/dynamics.py tests

# The fast tier: the numeric core and the units, without the tests marked slow (zoo models,
# Ray, product end-to-end, subprocesses). `make test` (and .ci/run) still runs everything.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" --doctest-modules src/ped/scoring.py src/ped/dynamics.py tests

demo: $(STAMP)
	$(VENV)/bin/ped demo

# The published performance figures (docs/performance.md): default threads, one thread, thread
# scaling, TransRate and N < D, NLEEP, start-up; about 1.5 hours on a quiet 2-core machine.
bench: $(STAMP)
	nice $(PY) benchmarks/bench_scores.py --sizes cifar100,sun397,fewshot --official --repeat 2 \
		--json benchmarks/results/scores.json
	nice $(PY) benchmarks/bench_scores.py --sizes cifar100,sun397 --blas-threads 1 --repeat 2 \
		--json benchmarks/results/scores_1thread.json
	nice $(PY) benchmarks/bench_scores.py --sizes cifar100 --blas-threads 1,2,all \
		--scores logme,hscore,gbc,sfda,transrate,ped+logme --json benchmarks/results/threads.json
	nice $(PY) benchmarks/bench_scores.py --sizes tiny,fewshot --scores transrate,logme --official \
		--repeat 3 --json benchmarks/results/transrate.json
	nice $(PY) benchmarks/bench_scores.py --sizes cifar100 --scores nleep,ped+nleep --official --pair-repeat 0 \
		--json benchmarks/results/nleep_cifar100.json
	nice $(PY) benchmarks/bench_newer.py --n 5000 --dim 512 --classes 50 --repeat 2 \
		--json benchmarks/results/newer.json
	$(PY) benchmarks/bench_startup.py --json benchmarks/results/startup.json
	$(PY) benchmarks/render.py --update docs/performance.md benchmarks/results/scores.json \
		benchmarks/results/scores_1thread.json benchmarks/results/threads.json \
		benchmarks/results/transrate.json benchmarks/results/nleep_*.json \
		benchmarks/results/real_*.json benchmarks/results/newer.json benchmarks/results/startup.json \
		benchmarks/results/gpu.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
