# Two commands on a fresh machine:  `make run`  (the main job)  and  `make test`.
# Both create .venv/ on first use. GPU users pick their torch: `make setup TORCH="torch==2.11.0"`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
PARAMS ?= params/default.yaml
VENV := .venv
PY := $(VENV)/bin/python
# Tests and the default run read the MATH files from here unless the caller sets it.
export E2H_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: setup run test lab clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name e2h --display-name "Python (e2h)"
	@# Outputs never reach a commit: git runs every notebook through nbstripout (.gitattributes names the filter).
	if git rev-parse --git-dir >/dev/null 2>&1; then $(VENV)/bin/nbstripout --install; fi
	touch $@

run: setup
	$(PY) -m e2h run $(PARAMS)

test: setup
	$(PY) -m pytest -q tests

lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks

clean-venv:
	rm -rf $(VENV)
