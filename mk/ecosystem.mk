# Ecosystem gates (issue #8): docs, changelog, release tarball, execution environment, AWX.
#   make docs        the HTML docs site, offline, in docs/_build/html
#   make docs-lint   antsibull-docs lint-collection-docs --plugin-docs on the copied collection
#   make changelog-lint
#   make docs-examples  every page of the docs typed as written (make test-extended)
#   make galaxy-build  the release tarball in .build/dist
#   make ee          ansible-builder create: the execution environment's build context in .build/ee-context
#   make ecosystem   pytest tests/ecosystem (tarball contents + install + run, ansible-doc, EE, AWX via ansible-runner,
#                    module_defaults example) against a simulator started by hack/with-simulator
.PHONY: docs docs-lint changelog-lint galaxy-build ee ecosystem docs-examples

DOCS_STAMP := $(VENV)/.docs-installed
DOCS_BUILD := docs/_build
DIST       := $(BUILD)/dist
EE_CONTEXT := $(BUILD)/ee-context
# antsibull-docs and ansible-runner call `ansible`, `ansible-doc`, `ansible-playbook` from PATH
WITH_VENV  := PATH="$(CURDIR)/$(BIN):$$PATH"

# requirements-docs.txt: sphinx, theme, myst-parser, ansible-builder, ansible-runner (pinned).
$(DOCS_STAMP): $(STAMP) requirements-docs.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-docs.txt
	@touch $@

# The site: antsibull-docs renders the modules and the roles' argument specs from the copied collection
# (`collection --use-current`), `sphinx-init` writes the Sphinx configuration, the user guide (docs/*.md)
# is added through myst-parser. No network: intersphinx is switched off, nothing is fetched.
docs: collection $(DOCS_STAMP)
	@rm -rf $(DOCS_BUILD); mkdir -p $(DOCS_BUILD); chmod 700 $(DOCS_BUILD)
	@mkdir -m 700 $(DOCS_BUILD)/site $(DOCS_BUILD)/rst
	$(WITH_VENV) $(BIN)/antsibull-docs sphinx-init --use-current --dest-dir $(DOCS_BUILD)/site \
	  --no-add-antsibull-docs-version --index-rst-source docs/index.rst \
	  --project vsp.encryption --copyright "vsp.encryption contributors" \
	  --title "vsp.encryption" vsp.encryption >/dev/null
	@printf '%s\n' "" "# vsp.encryption: offline build, Markdown user guide" \
	  "extensions = [e for e in extensions if e != 'sphinx.ext.intersphinx'] + ['myst_parser']" \
	  "intersphinx_mapping = {}" \
	  "source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}" \
	  "myst_heading_anchors = 3" \
	  "nitpicky = False" >> $(DOCS_BUILD)/site/conf.py
	$(WITH_VENV) $(BIN)/antsibull-docs --config-file $(DOCS_BUILD)/site/antsibull-docs.cfg collection --use-current \
	  --fail-on-error --cleanup everything --dest-dir $(DOCS_BUILD)/rst vsp.encryption
	@cp $(DOCS_BUILD)/site/rst/index.rst $(DOCS_BUILD)/rst/index.rst
	@mkdir -p $(DOCS_BUILD)/rst/guide; cp docs/*.md $(wildcard docs/*.svg) $(DOCS_BUILD)/rst/guide/; cp docs/ansible-references.rst $(DOCS_BUILD)/rst/
	$(BIN)/sphinx-build -q -b html -W --keep-going -c $(DOCS_BUILD)/site $(DOCS_BUILD)/rst $(DOCS_BUILD)/html
	@echo "docs site: $(DOCS_BUILD)/html/index.html"

docs-lint: collection
	cd $(COLL_DIR) && $(WITH_VENV) $(CURDIR)/$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

changelog-lint: $(STAMP)
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

# Built from the repository root, so galaxy.yml's build_ignore is what keeps the tarball clean. It needs
# ansible-galaxy only: the demo's small venv (mk/demo-venv.mk; the full toolchain when it is already installed).
galaxy-build: $(DEMO_STAMP)
	@rm -rf $(DIST); mkdir -p $(DIST)
	$(DEMO_BIN)/ansible-galaxy collection build --force --output-path $(DIST) .

ee: galaxy-build $(DOCS_STAMP)
	@rm -rf $(EE_CONTEXT)
	$(BIN)/ansible-builder create -f execution-environment.yml -c $(EE_CONTEXT) --output-filename Containerfile
	@echo "build it with: podman build -f $(EE_CONTEXT)/Containerfile -t vsp-encryption-ee $(EE_CONTEXT)"

ecosystem: collection $(DOCS_STAMP)
	$(WITH_VENV) $(PY) hack/with-simulator -- $(PYTEST) -m "not extended" --junitxml=$(REPORTS)/ecosystem.xml tests/ecosystem

# every page of the docs typed as written (the README's alone runs in make ecosystem); each page has its own simulator
docs-examples: collection $(DOCS_STAMP)
	$(WITH_VENV) $(PYTEST) -m extended --junitxml=$(REPORTS)/docs-examples.xml tests/ecosystem/test_docs_examples.py

TEST_GATES       += docs-lint changelog-lint ecosystem docs
TEST_REPORTS     += $(REPORTS)/ecosystem.xml
EXTENDED_GATES   += docs-examples
EXTENDED_REPORTS += $(REPORTS)/docs-examples.xml
