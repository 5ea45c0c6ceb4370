# Hitachi's own collection (hitachivantara.vspone_block) run against the simulator: a client nobody
# here wrote, as a test of the simulator. Its modules import only the standard library and
# ansible-core. The `ansible` wheel that ships it is downloaded once (pip, PyPI) into
# ~/.cache/vsp-encryption/, checked against its sha256, and only the collection is extracted.
OFFICIAL_ANSIBLE  := 14.5.0
OFFICIAL_SHA256   := $(shell cat hack/official-wheel.sha256 2>/dev/null)
OFFICIAL_CACHE    := $(HOME)/.cache/vsp-encryption
OFFICIAL_WHEEL    := $(OFFICIAL_CACHE)/ansible-$(OFFICIAL_ANSIBLE)-py3-none-any.whl
OFFICIAL_DIR      := $(BUILD)/official
OFFICIAL_COLL     := $(OFFICIAL_DIR)/ansible_collections/hitachivantara/vspone_block

.PHONY: official official-collection

$(OFFICIAL_WHEEL): | $(STAMP)
	@mkdir -p $(OFFICIAL_CACHE)
	@tmp=$$(mktemp -d $(OFFICIAL_CACHE)/.dl-XXXXXX); \
	  $(BIN)/pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
	    ansible==$(OFFICIAL_ANSIBLE) -d "$$tmp" && mv "$$tmp"/ansible-$(OFFICIAL_ANSIBLE)-py3-none-any.whl $@; \
	  rc=$$?; rm -rf "$$tmp"; exit $$rc

$(OFFICIAL_COLL)/MANIFEST.json: $(OFFICIAL_WHEEL)
	@echo "$(OFFICIAL_SHA256)  $(OFFICIAL_WHEEL)" | sha256sum -c --quiet - \
	  || { echo "official: $(OFFICIAL_WHEEL) does not match hack/official-wheel.sha256"; rm -f $(OFFICIAL_WHEEL); exit 1; }
	@rm -rf $(OFFICIAL_DIR); mkdir -p $(OFFICIAL_DIR)
	$(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); p = "ansible_collections/hitachivantara/vspone_block/"; z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(p)])' $(OFFICIAL_WHEEL) $(OFFICIAL_DIR)
	@touch $@

official-collection: $(OFFICIAL_COLL)/MANIFEST.json

# Then Hitachi's collection again, against a twin of tests/captures/hitachi-docs.capture.json (assembled from
# Hitachi's documented response examples): the client and the documented answers meet in the twin (issue 26).
# Its fidelity report goes with the test reports, not beside the kept capture.
# Also the read-only first-contact check (playbook vsp.encryption.check_array_api) against the
# simulator: it must pass fully and, by the request log, send no write.
official: collection official-collection
	@mkdir -p $(REPORTS)
	VSP_OFFICIAL_COLLECTIONS=$(CURDIR)/$(OFFICIAL_DIR) VSP_COLLECTION_DIR=$(CURDIR)/$(COLL_DIR) \
	  $(PY) hack/with-simulator -- \
	  $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -o junit_family=xunit2 \
	  --junitxml=$(REPORTS)/official.xml tests/official
	VSP_OFFICIAL_COLLECTIONS=$(CURDIR)/$(OFFICIAL_DIR) \
	  $(PY) hack/with-simulator --capture tests/captures/hitachi-docs.capture.json --fidelity-report $(REPORTS)/ -- \
	  $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -o junit_family=xunit2 \
	  --junitxml=$(REPORTS)/official-twin.xml tests/official/test_vspone_block.py

EXTENDED_GATES   += official
EXTENDED_REPORTS += $(REPORTS)/official.xml $(REPORTS)/official-twin.xml
