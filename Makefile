# Every target installs what it needs into .venv first (once; again when a requirements file changes).
# Learners get requirements.txt only; the tests, grading and CI add requirements-instructor.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INSTRUCTOR_STAMP := $(VENV)/.installed-instructor
PORT   ?= 8888

.PHONY: install install-instructor lab lab-masters test test-default-mode student grade grade-roundtrip figures bench results book \
	clean-cache help

help:
	@echo "make lab      the learner's workspace: builds student/ if missing, opens JupyterLab on it"
	@echo "make lab-masters  JupyterLab on notebooks/, the masters with solutions (instructors)"
	@echo "make test     run pytest over tests/ and nbval over notebooks/ (instructor install)"
	@echo "make test-default-mode  the prose check in make lab's CPU mode on 01, 02, 04, 05, 07 (CI: 01, 05)"
	@echo "make student  write or update the student edition (solutions stubbed) in student/; keeps edited notebooks"
	@echo "make grade-roundtrip  the nbgrader round trip on every notebook (CI runs it on 00 and 01)"
	@echo "make book     the static HTML book from the committed notebooks: _build/book/html/index.html"
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

# Rebuilt when either requirements file changes (a new requirements.txt re-stamps $(STAMP), which is newer).
$(INSTRUCTOR_STAMP): $(STAMP) requirements-instructor.txt
	$(BIN)/python -m pip install --quiet -r requirements-instructor.txt
	touch $(INSTRUCTOR_STAMP)

install: $(STAMP)

install-instructor: $(INSTRUCTOR_STAMP)

# Jupyter refuses to run as root unless told to (containers and CI machines often are root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The learner's lab: rooted at the project so that notebooks/ (the masters) stays one folder up from student/,
# opened on student/00_start_here.ipynb. tools/learner_lab/ switches nbgrader's menus and server extensions
# off, in case an instructor install (make test) put nbgrader into this .venv.
lab: install | student/.edition.json
	JUPYTER_CONFIG_PATH="$(CURDIR)/tools/learner_lab$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/student/00_start_here.ipynb \
	  --port=$(PORT) $(ROOT_FLAG)

# Built once if missing; `make student` updates it (never overwriting a notebook the learner changed).
student/.edition.json: | $(STAMP)
	$(BIN)/python -m tools.student notebooks student

lab-masters: install-instructor
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --port=$(PORT) $(ROOT_FLAG)

# Tests run in quick mode unless you ask otherwise (RESNET_QUICK=0 make test runs the full budgets).
test: install-instructor
	RESNET_QUICK=$${RESNET_QUICK:-1} MPLBACKEND=$${MPLBACKEND:-Agg} $(BIN)/python -m pytest

student: install
	$(BIN)/python -m tools.student notebooks student

grade: install
	$(BIN)/python -m tools.student --grade $(STUDENT_DIR)

# nbgrader: generate_assignment, autograde (masters, released, wrong and bad submissions), export, on
# every notebook in a temporary course (tests/test_nbgrader.py; CI runs notebooks 00 and 01 only).
grade-roundtrip: install-instructor
	RESNET_NBGRADER_NOTEBOOKS=all MPLBACKEND=Agg $(BIN)/python -m pytest tests/test_nbgrader.py

# The prose check in the mode make lab gives on a CPU, for all five notebooks that run full size there (CI: 01, 05).
test-default-mode: install-instructor
	RESNET_DEFAULT_MODE_NOTEBOOKS=all MPLBACKEND=Agg $(BIN)/python -m pytest tests/test_notebook_prose.py

# The notebooks as committed, as a static HTML book (Sphinx + MyST-NB + Furo; nothing is executed).
book: install-instructor
	$(BIN)/python -m tools.book

figures: install
	$(BIN)/python -m helpers.figures figures

bench: install
	$(BIN)/python bench/loader.py
	$(BIN)/python bench/train_step.py
	$(BIN)/python bench/end_to_end.py
	$(BIN)/python bench/quick.py

# On a GPU: every full-size result (python -m tools.reproduce; it refuses the full size on a CPU).
results: install
	$(BIN)/python -m tools.reproduce $(ARGS)

clean-cache:
	rm -rf data/*/_uint8_cache
