# eService: `make run` to try it, `make test` for the whole suite. See README.md.

PYTHON ?= $(shell command -v python 2>/dev/null || command -v python3)
PORT ?= 8000
HOST ?= 0.0.0.0
PIP := PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 $(PYTHON) -m pip

export PYTHON PORT HOST

.PHONY: help install install-dev run test services migrate seed lint format

help:
	@echo "make run       install, migrate, seed the demo, run web + worker + beat (PORT=$(PORT))"
	@echo "make test      install everything, start PostgreSQL and Redis, run the whole suite"
	@echo "make services  start the local PostgreSQL and Redis if they are stopped"
	@echo "make lint      ruff check and format check"

install:
	$(PIP) install --quiet -e .

install-dev:
	$(PIP) install --quiet -e '.[dev]'

run: install
	bash scripts/run-all

test:
	bash scripts/test

services:
	bash scripts/services

migrate:
	$(PYTHON) manage.py migrate

seed: migrate
	$(PYTHON) manage.py seed_demo

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .
