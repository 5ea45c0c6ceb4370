# Integration targets (tests/integration/targets/<module>/) against simulators over HTTPS with
# validate_certs: true and the simulator's CA: two targets at a time, each pytest-xdist worker with a
# simulator and a copy of the collection of its own (tests/integration/test_targets.py).
integration: collection
	VSP_COLLECTION_DIR=$(CURDIR)/$(COLL_DIR) \
	  $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -n 2 -o junit_family=xunit2 --junitxml=$(REPORTS)/integration.xml $(COLL_DIR)/tests/integration/test_targets.py

TEST_GATES   += integration
TEST_REPORTS += $(REPORTS)/integration.xml
