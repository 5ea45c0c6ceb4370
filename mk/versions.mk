# Every version meta/runtime.yml claims (issues 14, 25), through nox (noxfile.py):
#   make versions   ansible-test sanity (compile, import) for each module-host Python found here other than 3.12
#                   (3.12: `make sanity`): a gate of `make test-extended`
#   make cores      each ansible-core the collection claims other than the pinned one, on a control-node Python it
#                   supports (2.16 on 3.12, 2.17 on 3.10, 2.18 and 2.19 on 3.11, 2.20 on 3.13): unit tests,
#                   integration targets, a backup + restore run of the roles through the shipped playbooks.
#                   Not a gate of `make test` (about 15 minutes); .ci/run runs it after `make test`, so every
#                   version is tested before a change lands
# nox keeps its virtual environments in $(BUILD)/nox (reused while they exist); the interpreters come from
# PATH and pyenv's versions. JUnit: $(REPORTS)/versions-*.xml.
.PHONY: versions cores

PYENV_ROOT_   := $(shell pyenv root 2>/dev/null)
# the module-host Pythons sanity may use (3.9-3.14) and 3.12 for ansible-core 2.16; pyenv's shims alone fail
PYENV_PYTHONS := $(if $(PYENV_ROOT_),$(wildcard $(PYENV_ROOT_)/versions/3.9*/bin $(PYENV_ROOT_)/versions/3.1[0-4]*/bin))
NOX_PATH      := $(CURDIR)/$(BIN)$(if $(PYENV_PYTHONS),:$(subst $(eval) ,:,$(strip $(PYENV_PYTHONS)))):$$PATH

versions: collection-copy $(NOX_STAMP)
	@mkdir -p $(REPORTS)
	PATH="$(NOX_PATH)" $(NOX) -s sanity-pythons

CORES := 216 217 218 219 220

cores: collection
	@mkdir -p $(REPORTS)
	PATH="$(NOX_PATH)" $(NOX) -s $(foreach v,$(CORES),core$(v)) || status=1; \
	  $(PY) hack/summarize-junit $(foreach v,$(CORES),$(foreach s,unit integration roles,$(REPORTS)/versions-core$(v)-$(s).xml)) \
	  && exit $${status:-0}

EXTENDED_GATES   += versions
EXTENDED_REPORTS += $(REPORTS)/versions-sanity.xml
