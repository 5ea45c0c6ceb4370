# Roles, playbooks, demo and molecule scenarios (roles/, playbooks/, extensions/molecule/).
#   make demo       back up the keys, lose them, check the plan, restore, show — on the simulator
#   make molecule   the molecule scenarios of both roles against one simulator (JUnit: $(REPORTS)/molecule.xml)
.PHONY: demo molecule

DEMO_DIR := $(CURDIR)/$(BUILD)/demo
# ansible-playbook with the collection from $(BUILD) (ANSIBLE_COLLECTIONS_PATH, exported by the Makefile)
ROLES_ENV := ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_RETRY_FILES_ENABLED=0 \
  ANSIBLE_DEPRECATION_WARNINGS=0 \
  ANSIBLE_LOCAL_TEMP=$(CURDIR)/$(BUILD)/tmp/ansible-local ANSIBLE_HOME=$(CURDIR)/$(BUILD)/tmp/ansible-home PATH=$(CURDIR)/$(BIN):$$PATH
# the demo reads the example project's ansible.cfg, as a user's project does (its output is what users see)
DEMO_PLAY := $(ROLES_ENV) ANSIBLE_CALLBACK_RESULT_FORMAT=json ANSIBLE_CONFIG=$(CURDIR)/playbooks/ansible.example.cfg VSP_DEMO_DIR=$(DEMO_DIR) PATH=$(CURDIR)/$(DEMO_BIN):$$PATH $(CURDIR)/$(DEMO_BIN)/ansible-playbook -i playbooks/inventory/demo

demo: $(DEMO_STAMP) collection-copy
	@rm -rf $(DEMO_DIR); mkdir -p $(DEMO_DIR)
	@start=$$(date +%s); \
	$(DEMO_PY) hack/with-simulator --job-ms 500 -- bash -eu -o pipefail -c ' \
	  echo "== 1/5 back up the encryption keys (role encryption_key_backup)"; \
	  $(DEMO_PLAY) playbooks/backup_encryption_keys.yml; \
	  echo "== 2/5 disaster: the array loses the keys of parity groups 1-1 and 1-2"; \
	  $(DEMO_PLAY) playbooks/demo_lose_keys.yml; \
	  echo "== 3/5 rehearse the restore: --check shows the plan and sends no write request"; \
	  $(DEMO_PLAY) playbooks/restore_encryption_keys.yml --check; \
	  $(DEMO_PLAY) playbooks/demo_no_writes.yml; \
	  echo "== 4/5 restore (role encryption_key_restore): block, restore, recover, verify"; \
	  $(DEMO_PLAY) playbooks/restore_encryption_keys.yml -e encryption_key_restore_confirm=true; \
	  echo "== 5/5 the simulator agrees: every pool volume normal, every key back"; \
	  $(DEMO_PLAY) playbooks/demo_show_state.yml'; \
	echo "== demo done in $$(( $$(date +%s) - start )) s; key backups kept in $(DEMO_DIR)/key-backups"

# One simulator for both scenarios, run one after the other (each prepare resets it: no -n here);
# tests/molecule wraps each scenario in a pytest case for the JUnit report (molecule runs from the
# collection root and finds extensions/molecule/ there).
molecule: collection
	@mkdir -p $(REPORTS)
	$(ROLES_ENV) $(PY) hack/with-simulator --job-ms 200 -- \
	  $(BIN)/pytest -q -p no:cacheprovider -p no:pytest-ansible -o junit_family=xunit2 \
	    --junitxml=$(REPORTS)/molecule.xml tests/molecule

EXTENDED_GATES   += molecule
# the README's main job, as a user runs it: a gate, so that it cannot break unseen (about 40 s)
TEST_GATES   += demo
EXTENDED_REPORTS += $(REPORTS)/molecule.xml
