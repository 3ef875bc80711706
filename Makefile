# eService: `make run` to try it, `make test` for the whole suite. See README.md.

# The interpreter: $PYTHON, else the active virtualenv, else ./.venv (created on first use).
PY = $(shell bash scripts/python-env)
PORT ?= 8000
HOST ?= 0.0.0.0
PIP = PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 $(PY) -m pip

export PORT HOST

.PHONY: help install install-dev run test services migrate seed lint format

help:
	@echo "make run       install, migrate, seed the demo, run web + worker + beat (PORT=$(PORT))"
	@echo "make test      install everything, start PostgreSQL and Redis, run the whole suite"
	@echo "make services  start the local PostgreSQL and Redis if they are stopped"
	@echo "make lint      ruff check and format check"

install:
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .

install-dev:
	$(PIP) install --quiet -e '.[dev]'

run: install
	PYTHON=$(PY) bash scripts/run-all

test:
	bash scripts/test

services:
	bash scripts/services

migrate:
	$(PY) manage.py migrate

seed: migrate
	$(PY) manage.py seed_demo

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format:
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
