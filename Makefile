# The two commands of the README:
#   make run    install everything, train the default model if absent, score the seed article
#   make test   run the whole test suite (slow end-to-end tests included)
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
MODEL   := runs/e5-small
BASE    := runs/baseline
SEED    := seeds/000_a1abbb1d65276d23.txt

.PHONY: run test install bench clean

$(BIN)/framing: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/framing

install: $(BIN)/framing

$(MODEL)/framing.json: | install
	$(BIN)/framing train --config configs/e5-small.yaml

$(BASE)/framing.json: | install
	$(BIN)/framing train --config configs/baseline-tfidf.yaml

run: $(MODEL)/framing.json $(BASE)/framing.json
	$(BIN)/framing score $(SEED) --model $(MODEL) --format table
	$(BIN)/framing score $(SEED) --model $(MODEL) --format html --output report.html
	@echo "HTML report: $(CURDIR)/report.html"

test: install
	$(BIN)/python -m pytest -v --durations=15

bench: run
	$(BIN)/framing bench --train

clean:
	rm -rf $(VENV) runs report.html bench-out
