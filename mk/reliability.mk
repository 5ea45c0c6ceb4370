# Reliability and security suite (issue #6): faults survived, bad input refused, secrets never leaked.
# The tests start their own simulators (HTTPS, own CA, --state-file; one set per test file, so the
# files run in parallel) and run real ansible-playbook against them. A full run renders the figures
# of docs/reliability.md and fails when the committed file disagrees (see tests/reliability/conftest.py).
.PHONY: reliability

reliability: collection
	@mkdir -p $(REPORTS)
	@hack/ensure-sshd
	VSP_RELIABILITY_REPORT=1 $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -n 2 --dist loadfile -o junit_family=xunit2 \
	  --junitxml=$(REPORTS)/reliability.xml tests/reliability

TEST_GATES   += reliability
TEST_REPORTS += $(REPORTS)/reliability.xml
