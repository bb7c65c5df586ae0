# auto-remediate: `make demo` runs the whole flow on the local stack; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_REGION ?= us-east-1
# The test stack lives apart from the demo's, so both can run at once.
TEST_ENV := STACK_DIR=.local/test GATEWAY_PORT=4520 MOTO_PORT_BACKEND=4521 APPROVAL_PORT=4522 CONFIG=tests/config.json

.PHONY: all build browser-deps venv local-up local-down demo test lint fmt clean

all: build

$(VENV)/.installed: local/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r local/requirements.txt
	touch $@

venv: $(VENV)/.installed

## Debian's chromium and chromedriver, for the browser tests of the approval pages (installed
## only when one is missing; through sudo when not root).
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	    echo "browser-deps: chromium or chromedriver is still missing (apt-get install chromium chromium-driver)" >&2; exit 1; }; \
	fi

build:
	$(CARGO) build --workspace --bins --tests --locked

## The local stack: moto + our gateway on 127.0.0.1. CONFIG=path/to/config.json picks the rules config.
local-up: build venv
	local/stack.sh up

local-down:
	local/stack.sh down

## The main job: heal a public bucket and an open security group, end to end, locally.
demo: build venv
	local/stack.sh up
	set -o pipefail; target/debug/auto-remediate demo --stack-dir .local $(if $(WAIT),--wait-for-approval); status=$$?; local/stack.sh down; exit $$status

## Every test: unit tests and the integration tests against a local stack started for them.
## (One `cargo test --workspace`, so the SDK crates are built once with one feature set.)
test: lint build venv browser-deps
	$(TEST_ENV) local/stack.sh up
	set -o pipefail; STACK_DIR=.local/test $(CARGO) test --workspace --locked; status=$$?; $(TEST_ENV) local/stack.sh down; exit $$status

lint:
	$(CARGO) fmt --all -- --check

fmt:
	$(CARGO) fmt --all

clean: local-down
	rm -rf target $(VENV) .local
