# Every version meta/runtime.yml claims (issue 14), through nox (noxfile.py):
#   make versions   ansible-core 2.16 (the oldest supported) on Python 3.12: unit tests, integration targets and
#                   a backup + restore run of the roles through the shipped playbooks; and ansible-test sanity
#                   (compile, import) for each other module-host Python found here (3.12: `make sanity`)
# nox keeps its virtual environments in $(BUILD)/nox (reused while they exist); the interpreters come from
# PATH and pyenv's versions. JUnit: $(REPORTS)/versions-*.xml.
.PHONY: versions

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

TEST_GATES   += versions
TEST_REPORTS += $(REPORTS)/versions-core216-unit.xml $(REPORTS)/versions-core216-integration.xml \
  $(REPORTS)/versions-core216-roles.xml $(REPORTS)/versions-sanity.xml
