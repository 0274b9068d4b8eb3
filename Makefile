# The two commands of the contract: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# two processes, each with its own PostGIS cluster and demo; a file's tests stay in one process
# (module fixtures are built once). `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=30

.PHONY: demo test setup system system-test assets db lint bench bench-scale clean

demo: system setup db
	$(BIN)/geo-grid gazetteer load
	$(BIN)/geo-grid demo load
	$(BIN)/geo-grid serve --port $(PORT)

test: system-test setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed assets

system:
	@PYTHON=$(PYTHON) scripts/ensure-system.sh

system-test:
	@PYTHON=$(PYTHON) scripts/ensure-system.sh chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# map assets (into geo_grid/static/vendor) and the national gazetteer (into the data cache)
assets: $(VENV)/.installed
	@$(BIN)/python -m geo_grid.assets

db: setup
	$(BIN)/geo-grid db start

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup db
	$(BIN)/python bench/coverage.py
	$(BIN)/python bench/geocode.py
	$(BIN)/python bench/locate.py
	$(BIN)/python bench/load.py

# a city's addresses geocoded and China's districts checked on dask vs one process (docs/scaling.md)
bench-scale: setup db
	$(BIN)/pip install -q -e '.[scale,bench]'
	$(BIN)/python bench/dask_geocode.py
	$(BIN)/python bench/coverage_dask.py

clean:
	-$(BIN)/geo-grid db stop
	rm -rf $(VENV) .geo-grid
