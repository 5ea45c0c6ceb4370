# Ecosystem gates (issue #8): docs, changelog, release tarball, execution environment, AWX.
#   make docs        the HTML docs site, offline, in docs/_build/html (nox)
#   make docs-lint   antsibull-docs lint-collection-docs --plugin-docs on the copied collection (nox)
#   make changelog-lint  antsibull-changelog lint (nox)
#   make docs-examples  every page of the docs typed as written (make test-extended)
#   make galaxy-build  the release tarball in .build/dist (nox, ansible-core alone)
#   make ee          ansible-builder create: the execution environment's build context in .build/ee-context
#   make ecosystem   pytest tests/ecosystem (tarball contents + install + run, ansible-doc, EE, AWX via ansible-runner,
#                    module_defaults example) against a simulator started by hack/with-simulator
.PHONY: docs docs-lint changelog-lint galaxy-build ee ecosystem docs-examples

DIST       := $(BUILD)/dist
EE_CONTEXT := $(BUILD)/ee-context
# ansible-runner and the docs typed as written call `ansible`, `ansible-doc`, `ansible-playbook` from PATH
WITH_VENV  := PATH="$(CURDIR)/$(BIN):$$PATH"

# The site (nox session docs, requirements-docs.txt): antsibull-docs renders the modules and the roles' argument
# specs from the copied collection (`--use-current`), `sphinx-init` writes the Sphinx configuration, the user guide
# (docs/*.md) is added through myst-parser. No network: intersphinx is switched off, nothing is fetched.
docs: collection-copy $(NOX_STAMP)
	$(NOX) -s docs -- site

docs-lint: collection-copy $(NOX_STAMP)
	$(NOX) -s docs -- lint

changelog-lint: $(NOX_STAMP)
	$(NOX) -s changelog

# Built from the repository root, so galaxy.yml's build_ignore is what keeps the tarball clean. It needs
# ansible-galaxy only: the nox session build installs ansible-core alone.
galaxy-build: $(NOX_STAMP)
	@rm -rf $(DIST); mkdir -p $(DIST)
	$(NOX) -s build -- $(CURDIR)/$(DIST)

ee: galaxy-build $(STAMP)
	@rm -rf $(EE_CONTEXT)
	$(BIN)/ansible-builder create -f execution-environment.yml -c $(EE_CONTEXT) --output-filename Containerfile
	@echo "build it with: podman build -f $(EE_CONTEXT)/Containerfile -t vsp-encryption-ee $(EE_CONTEXT)"

ecosystem: collection
	$(WITH_VENV) $(PY) hack/with-simulator -- $(PYTEST) -m "not extended" --junitxml=$(REPORTS)/ecosystem.xml tests/ecosystem

# every page of the docs typed as written (the README's alone runs in make ecosystem); each page has its own simulator
docs-examples: collection
	$(WITH_VENV) $(PYTEST) -m extended --junitxml=$(REPORTS)/docs-examples.xml tests/ecosystem/test_docs_examples.py

TEST_GATES       += docs-lint changelog-lint ecosystem docs
TEST_REPORTS     += $(REPORTS)/ecosystem.xml
EXTENDED_GATES   += docs-examples
EXTENDED_REPORTS += $(REPORTS)/docs-examples.xml
