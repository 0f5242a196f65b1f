# Clinic FAQ bot. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export RASA_TELEMETRY_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
export HF_HUB_OFFLINE := 1
export PYTHONPATH := $(CURDIR)
CONFIG := config.yml
DOMAIN := bot/domain.yml
DATA := bot/data
MODELS := models
CASES ?= tests/eval/dev.yml
TRAIN_ARGS := --config $(CONFIG) --domain $(DOMAIN) --data $(DATA) --out $(MODELS) --fixed-model-name faqbot

.PHONY: help install index index-if-stale train prepare run shell test eval validate lint lock clean handoffs retention ask widget browser bench bench-smoke

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## create .venv from requirements/lock.txt (if missing or out of date)
	@bash scripts/install.sh

index: install ## rebuild the knowledge index now
	@$(PY) -m knowledge index

index-if-stale: install
	@$(PY) -m knowledge index --if-stale

train: install ## train the Rasa model (Rasa skips it when nothing changed)
	@$(RASA) train $(TRAIN_ARGS)

prepare: index-if-stale train

run: prepare ## start the action server (5055) and the Rasa server (5005); Ctrl-C stops both
	@$(PY) -m scripts.stack

shell: prepare ## staff testing in the terminal: rasa shell with the action server running
	@$(PY) -m scripts.shell

validate: install ## rasa data validate
	@$(RASA) data validate --config $(CONFIG) --domain $(DOMAIN) --data $(DATA) --fail-on-warnings

lint: install ## ruff and mypy
	@$(VENV)/bin/ruff check knowledge actions handoffs scripts tests bot bench
	@$(VENV)/bin/ruff format --check knowledge actions handoffs scripts tests bot bench
	@$(VENV)/bin/mypy

test: prepare validate lint browser ## the whole test suite (sets everything up first)
	@$(PY) -m pytest

ask: install ## staff: one question through the whole bot, e.g. make ask Q="what are exosomes" (also .venv/bin/faqbot ask)
	@$(PY) -m scripts.ask ask "$(Q)" $(ARGS)

eval: prepare ## evaluate the running bot on CASES (default tests/eval/dev.yml)
	@$(PY) -m scripts.evaluate $(CASES) $(ARGS)

bench: prepare ## benchmarks vs the stock rasa-init bot (25-30 min): bench/results.{json,md}, bench/latency.png
	@$(PY) -m bench $(ARGS)

bench-smoke: prepare ## every benchmark for a few seconds (CI), into var/bench/smoke/
	@$(PY) -m bench --smoke $(ARGS)

lock: ## regenerate requirements/lock.txt from the current .venv
	@$(VENV)/bin/pip freeze --exclude-editable | grep -v -E '^(rasa|rasa-sdk|rasa_sdk)==' | sed 's/^torch==\(.*\)+cpu/torch==\1/' > requirements/lock.body
	@{ sed -n '1,3p' requirements/lock.txt; cat requirements/lock.body; } > requirements/lock.new && rm requirements/lock.body && mv requirements/lock.new requirements/lock.txt

clean: ## remove the trained model, the index and caches (keeps .venv)
	rm -rf $(MODELS) var/index .pytest_cache .mypy_cache .ruff_cache

handoffs: install ## staff: list/show/claim/resolve handoffs, e.g. make handoffs ARGS="show HX7K-3M9Q"
	@$(PY) -m handoffs $(or $(ARGS),list)

retention: install ## delete conversations and resolved handoffs older than FAQBOT_RETENTION_DAYS (30)
	@$(PY) -m bot.retention $(ARGS)

widget: ## rebuild the website widget bot/widget/dist/faqbot-widget.js (needs Node 18+ and npm)
	@cd bot/widget && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && node build.mjs

browser: ## install Debian's chromium for the widget's browser tests (when missing)
	@bash scripts/install-browser.sh
