# vsp.encryption — every target sets itself up on a fresh machine.
#   make demo            the whole backup + disaster-recovery job against the simulator
#   make test            the quality gates a change must pass (about 12 minutes on 2 cores)
#   make test-extended   the long suites CI runs after make test (every reliability case, every page typed
#                        as written, Hitachi's client, EDA, molecule, other Pythons' sanity)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV       := .venv
PY         := $(VENV)/bin/python
BIN        := $(VENV)/bin
BUILD      ?= .build
COLL_DIR   := $(BUILD)/ansible_collections/vsp/encryption
REPORTS    := $(BUILD)/reports
STAMP      := $(VENV)/.installed

export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(BUILD)
export ANSIBLE_NOCOLOR := 1
export PY_COLORS := 0

.PHONY: help venv collection collection-copy lint sanity unit simulator-tests integration molecule test test-extended clean

help:
	@echo "make demo   back up the keys, lose them, restore them — on the simulator"
	@echo "make test   the quality gates (lint, sanity, unit, simulator, integration, docs, ecosystem, the disaster timeline, demo)"
	@echo "make test-extended   the long suites CI runs after make test (reliability, docs typed as written, official client, eda, molecule, versions)"
	@echo "make bench  the performance benchmark (not part of make test)"

$(STAMP): requirements.txt requirements-dev.txt $(wildcard simulator/pyproject.toml)
	@python=$$(hack/find-python); echo "using $$python"; \
	  [ -x $(PY) ] && $(PY) -c 'import sys' 2>/dev/null || { rm -rf $(VENV); "$$python" -m venv $(VENV); }
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	if [ -f simulator/pyproject.toml ]; then $(BIN)/pip install -q --disable-pip-version-check -e simulator; fi
	@touch $@

venv: $(STAMP)

# ansible-test and ansible-playbook need the collection at .../ansible_collections/vsp/encryption,
# a real directory: copy the tracked (and new, not ignored) files of the collection there.
# ansible-test then lists them with git inside the copy. `collection` adds the toolchain of .venv.
collection: $(STAMP) collection-copy
# the copy alone (no toolchain needed: git and tar), for `make demo` and the nox sessions
collection-copy:
	@rm -rf $(COLL_DIR); mkdir -p $(COLL_DIR) $(REPORTS)
	@git ls-files -co --exclude-standard -z | grep -zv -E '^(simulator|bench|hack|\.ci)/|^noxfile\.py$$' \
	  | tar -cf - --null --ignore-failed-read -T - 2>/dev/null | tar -xf - -C $(COLL_DIR)
	@# its own (empty) git work tree: ansible-test lists files with git, and .build/ is ignored here
	@git init -q $(COLL_DIR)
	@echo "collection copied to $(COLL_DIR)"

# nox (noxfile.py) runs lint, changelog, docs, sanity, unit and the build, each in an environment holding only
# what it needs (under $(BUILD)/nox, reused while its pins hold); nox itself lives in a small venv of its own.
NOX_VENV   := $(BUILD)/venv-nox
NOX_STAMP  := $(NOX_VENV)/.installed
NOX_ENVDIR := $(CURDIR)/$(BUILD)/nox
NOX        := VSP_REPORTS=$(CURDIR)/$(REPORTS) VSP_COLLECTION_DIR=$(CURDIR)/$(COLL_DIR) \
  $(NOX_VENV)/bin/nox -f noxfile.py --envdir $(NOX_ENVDIR) --no-color

$(NOX_STAMP): requirements-dev.txt
	@python=$$(hack/find-python); echo "using $$python"; \
	  [ -x $(NOX_VENV)/bin/python ] && $(NOX_VENV)/bin/python -c 'import sys' 2>/dev/null \
	  || { rm -rf $(NOX_VENV); "$$python" -m venv $(NOX_VENV); }
	$(NOX_VENV)/bin/pip install -q --disable-pip-version-check "$$(grep -E '^nox==' requirements-dev.txt)"
	@touch $@

# ansible-lint's syntax check resolves the FQCN roles and modules of playbooks/ and extensions/ through
# ANSIBLE_COLLECTIONS_PATH ($(BUILD)): it needs the collection copy.
lint: collection-copy $(NOX_STAMP)
	$(NOX) -s lint

sanity: collection-copy $(NOX_STAMP)
	$(NOX) -s sanity

PYTEST := $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -n 2 -o junit_family=xunit2

# no toolchain and no collection copy: ansible-core, requests, pytest and responses (tests/unit/conftest.py makes
# the checkout importable)
unit: $(NOX_STAMP)
	$(NOX) -s unit

simulator-tests: $(STAMP)
	@mkdir -p $(REPORTS)
	$(PYTEST) --junitxml=$(REPORTS)/simulator.xml simulator/tests

# Each part of the project adds its targets in mk/<part>.mk and appends its gate to TEST_GATES (make test)
# or EXTENDED_GATES (make test-extended), and its JUnit report (written under $(REPORTS)) to TEST_REPORTS
# or EXTENDED_REPORTS. make test stays well under 15 minutes on a 2-core machine: a gate whose suite is
# long goes to make test-extended, which CI runs after it (.ci/run), so nothing lands untested.
TEST_GATES   := lint sanity simulator-tests unit
TEST_REPORTS := $(REPORTS)/simulator.xml $(REPORTS)/unit.xml
EXTENDED_GATES   :=
EXTENDED_REPORTS :=
-include mk/*.mk

# -k: every gate runs even when one fails, so one run shows every failure; the exit code is non-zero
# when any gate failed or any report is missing, empty or holds a failure.
define run_gates
	@status=0; $(MAKE) --no-print-directory -k $(1) || status=1; \
	  echo "== summary"; $(PY) hack/summarize-junit $(2) || status=1; \
	  if [ $$status -ne 0 ]; then echo "make $@: FAILED (see the gates above)"; fi; exit $$status
endef

test:
	@rm -rf $(REPORTS)
	$(call run_gates,$(TEST_GATES),$(TEST_REPORTS))

test-extended:
	@rm -f $(EXTENDED_REPORTS)
	$(call run_gates,$(EXTENDED_GATES),$(EXTENDED_REPORTS))

clean:
	rm -rf $(BUILD) tests/output
