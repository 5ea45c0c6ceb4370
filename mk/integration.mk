# Integration targets (tests/integration/targets/<module>/) against a simulator started for them,
# over HTTPS with validate_certs: true and the simulator's CA.
integration: collection
	VSP_COLLECTION_DIR=$(CURDIR)/$(COLL_DIR) $(PY) hack/with-simulator -- \
	  $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -o junit_family=xunit2 --junitxml=$(REPORTS)/integration.xml $(COLL_DIR)/tests/integration/test_targets.py

TEST_GATES   += integration
TEST_REPORTS += $(REPORTS)/integration.xml
