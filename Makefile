# Two entry points for a fresh machine (see README.md):
#   make demo   set up the venv and run the embedded tiny world end to end
#   make test   set up the venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: setup demo test lint clean

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	# torchvision from PyPI is a CUDA build that breaks `import transformers`; text-only SFT does not need it.
	$(BIN)/pip uninstall -y -q torchvision || true
	# llamafactory imports torchaudio at load time; its compiled libraries do not match the CPU torch build,
	# without them torchaudio imports as pure Python (audio is never used here).
	$(BIN)/python -c "import importlib.util, pathlib; d = pathlib.Path(importlib.util.find_spec('torchaudio').origin).parent / 'lib'; [p.unlink() for p in d.glob('*.so')]"
	$(BIN)/python -c "import llamafactory.data.mm_plugin, transformers, snakemake; print('environment ok')"
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup
	$(BIN)/python -m pytest -q -ra

# snakemake's own linter (both configs), the Snakefile formatter and ruff, as CI runs them
lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakemake --lint --configfile config/paper.yaml
	$(BIN)/snakefmt --check .
	$(BIN)/ruff check .

clean:
	rm -rf results/* figures/*.pdf figures/*.png .snakemake
