# Reliability and security suite (issue #6): faults survived, bad input refused, secrets never leaked.
# The tests start their own simulators (HTTPS, own CA, --state-file; one set per test file, so the
# files run in parallel) and run real ansible-playbook against them. A full run writes its figures to
# $(REPORTS)/reliability-figures.md and fails when a case failed or a secret leaked (tests/reliability/conftest.py);
# `make reliability-doc` copies them into docs/reliability.md, the reference run the docs show.
.PHONY: reliability reliability-doc

reliability: collection
	@mkdir -p $(REPORTS)
	@hack/ensure-sshd
	VSP_RELIABILITY_REPORT=1 VSP_REPORTS=$(CURDIR)/$(REPORTS) $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -n 2 --dist loadfile -o junit_family=xunit2 \
	  --junitxml=$(REPORTS)/reliability.xml tests/reliability

TEST_GATES   += reliability
TEST_REPORTS += $(REPORTS)/reliability.xml

reliability-doc:
	$(PY) hack/reliability-doc $(REPORTS)/reliability-figures.md
