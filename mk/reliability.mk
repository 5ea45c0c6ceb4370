# Reliability and security suite (issue #6): faults survived, bad input refused, secrets never leaked.
# The tests start their own simulators (HTTPS, own CA, --state-file; one set per test file, so the
# files run in parallel) and run real ansible-playbook against them. A full run writes its figures to
# $(REPORTS)/reliability-figures.md and fails when a case failed or a secret leaked (tests/reliability/conftest.py);
# `make reliability-doc` copies them into docs/reliability.md, the reference run the docs show.
#
# make test runs the core of it (reliability-core, about 4 minutes): the disaster's timeline as an operator
# meets it, the secrets of every run, and every bad input refused. make test-extended runs every case
# (reliability, about 12 minutes), the core included, and writes the figures.
.PHONY: reliability reliability-core reliability-doc

RELIABILITY_PYTEST := $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -n 2 --dist loadgroup -o junit_family=xunit2
RELIABILITY_CORE   := tests/reliability/test_timeline.py tests/reliability/test_secrets.py tests/reliability/test_bad_input.py

reliability: collection
	@mkdir -p $(REPORTS)
	@hack/ensure-sshd
	VSP_RELIABILITY_REPORT=1 VSP_REPORTS=$(CURDIR)/$(REPORTS) $(RELIABILITY_PYTEST) \
	  --junitxml=$(REPORTS)/reliability.xml tests/reliability

reliability-core: collection
	@mkdir -p $(REPORTS)
	$(RELIABILITY_PYTEST) --junitxml=$(REPORTS)/reliability-core.xml $(RELIABILITY_CORE)

TEST_GATES       += reliability-core
TEST_REPORTS     += $(REPORTS)/reliability-core.xml
EXTENDED_GATES   += reliability
EXTENDED_REPORTS += $(REPORTS)/reliability.xml

reliability-doc:
	$(PY) hack/reliability-doc $(REPORTS)/reliability-figures.md
