# Every version meta/runtime.yml claims (issue 14), through nox (noxfile.py):
#   make versions   ansible-core 2.16 (the oldest supported) on Python 3.12: unit tests, integration targets and
#                   a backup + restore run of the roles through the shipped playbooks; and ansible-test sanity
#                   (compile, import) for each other module-host Python found here (3.12: `make sanity`)
#   make versions-between   the same three steps for each ansible-core between them (2.17 on Python 3.10, 2.18 and
#                   2.19 on 3.11, 2.20 on 3.13): not a gate of `make test` (about 10 minutes more); .ci/run runs it
#                   after `make test`, so every version meta/runtime.yml claims is tested before a change lands
# nox keeps its virtual environments in $(BUILD)/nox (reused while they exist); the interpreters come from
# PATH and pyenv's versions. JUnit: $(REPORTS)/versions-*.xml.
.PHONY: versions versions-between

NOX_ENVDIR    := $(CURDIR)/$(BUILD)/nox
PYENV_ROOT_   := $(shell pyenv root 2>/dev/null)
# the module-host Pythons sanity may use (3.9-3.14) and 3.12 for ansible-core 2.16; pyenv's shims alone fail
PYENV_PYTHONS := $(if $(PYENV_ROOT_),$(wildcard $(PYENV_ROOT_)/versions/3.9*/bin $(PYENV_ROOT_)/versions/3.1[0-4]*/bin))
NOX_PATH      := $(CURDIR)/$(BIN)$(if $(PYENV_PYTHONS),:$(subst $(eval) ,:,$(strip $(PYENV_PYTHONS)))):$$PATH

versions: collection
	@mkdir -p $(REPORTS)
	@pipver=$$(grep -oP "pip='\K[0-9.]+" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py); \
	  mkdir -p $(PIP_CACHE); cp hack/get_pip_standin.py $(PIP_CACHE)/get_pip_$${pipver//./_}.py
	PATH="$(NOX_PATH)" VSP_REPORTS=$(CURDIR)/$(REPORTS) VSP_COLLECTION_DIR=$(CURDIR)/$(COLL_DIR) \
	  $(BIN)/nox -f noxfile.py --envdir $(NOX_ENVDIR) --no-color -s core216 sanity

versions-between: collection
	@mkdir -p $(REPORTS)
	PATH="$(NOX_PATH)" VSP_REPORTS=$(CURDIR)/$(REPORTS) VSP_COLLECTION_DIR=$(CURDIR)/$(COLL_DIR) \
	  $(BIN)/nox -f noxfile.py --envdir $(NOX_ENVDIR) --no-color -s core217 core218 core219 core220
	$(PY) hack/summarize-junit $(foreach v,217 218 219 220,$(foreach s,unit integration roles,$(REPORTS)/versions-core$(v)-$(s).xml))

TEST_GATES   += versions
TEST_REPORTS += $(REPORTS)/versions-core216-unit.xml $(REPORTS)/versions-core216-integration.xml \
  $(REPORTS)/versions-core216-roles.xml $(REPORTS)/versions-sanity.xml
