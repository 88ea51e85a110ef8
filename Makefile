# Every target installs what it needs into .venv first (once; again when requirements change).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888

.PHONY: install lab test student grade grade-roundtrip figures bench results clean-cache help

help:
	@echo "make lab      start JupyterLab on notebooks/ (installs .venv first)"
	@echo "make test     run pytest over tests/ and nbval over notebooks/"
	@echo "make student  write the student edition (solutions stubbed) into student/"
	@echo "make grade-roundtrip  the nbgrader round trip on all seven notebooks (CI runs it on 00, 01 and 05)"
	@echo "make figures  regenerate figures/ from code"
	@echo "make bench    run the benchmarks in bench/ (JSON on stdout)"
	@echo "make results  every full-size experiment on a GPU, into results/ (prints its plan first)"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . \
	  || $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Jupyter refuses to run as root unless told to (containers and CI machines often are root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ROOT_FLAG)

# Tests run in quick mode unless you ask otherwise (RESNET_QUICK=0 make test runs the full budgets).
test: install
	RESNET_QUICK=$${RESNET_QUICK:-1} MPLBACKEND=$${MPLBACKEND:-Agg} $(BIN)/python -m pytest

student: install
	$(BIN)/python -m tools.student notebooks student

grade: install
	$(BIN)/python -m tools.student --grade $(STUDENT_DIR)

# nbgrader: generate_assignment, autograde (masters, released, wrong and bad submissions), export, on all
# seven notebooks in a temporary course (tests/test_nbgrader.py; CI runs notebooks 00 and 05 only).
grade-roundtrip: install
	RESNET_NBGRADER_NOTEBOOKS=all MPLBACKEND=Agg $(BIN)/python -m pytest tests/test_nbgrader.py

figures: install
	$(BIN)/python -m helpers.figures figures

bench: install
	$(BIN)/python bench/loader.py
	$(BIN)/python bench/train_step.py
	$(BIN)/python bench/end_to_end.py

# On a GPU: every full-size result (python -m tools.reproduce; it refuses the full size on a CPU).
results: install
	$(BIN)/python -m tools.reproduce $(ARGS)

clean-cache:
	rm -rf data/*/_uint8_cache
