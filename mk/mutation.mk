# make mutation — mutation testing of plugins/module_utils with mutmut (not part of `make test`).
# The collection is copied to $(MUTATION_BUILD)/ansible_collections/vsp/encryption and mutmut runs in
# $(MUTATION_BUILD) with hack/mutmut-setup.cfg, so the work tree is never mutated. The summary and the
# survivors (each with its diff class) are written to $(MUTATION_BUILD)/mutation-report.md; the target
# fails when fewer than $(MUTATION_MIN) % of the mutants checked are killed. See docs/mutation.md.
# MUTATION_ONLY: mutate only these modules of module_utils or plugin_utils (names with or without the leading _,
# separated by spaces or commas, e.g.
# MUTATION_ONLY=client.py or MUTATION_ONLY="errors.py validate.py") instead of the list of hack/mutmut-setup.cfg;
# the score then covers only them. For short runs while killing the survivors of one module.
MUTATION_BUILD ?= .build-mutation
MUTATION_JOBS  ?= 2
MUTATION_MIN   ?= 90
MUTATION_ONLY  ?=

.PHONY: mutation

mutation: $(STAMP)
	@rm -rf $(MUTATION_BUILD)
	@$(MAKE) --no-print-directory collection-copy BUILD=$(MUTATION_BUILD)
	@cp hack/mutmut-setup.cfg $(MUTATION_BUILD)/setup.cfg
	@if [ -n "$(MUTATION_ONLY)" ]; then \
	  awk -v only="$(MUTATION_ONLY)" 'BEGIN { n = split(only, m, /[ ,]+/) } \
	    /^only_mutate =/ { print; for (i = 1; i <= n; i++) if (m[i] != "") { name = m[i]; sub(/^_/, "", name); print "    */*_utils/_" name } skip = 1; next } \
	    skip && /^    / { next } { skip = 0; print }' hack/mutmut-setup.cfg > $(MUTATION_BUILD)/setup.cfg; \
	  echo "mutation: only $(MUTATION_ONLY)"; fi
	@start=$$(date +%s); \
	  ( cd $(MUTATION_BUILD) && $(CURDIR)/$(BIN)/mutmut run --max-children $(MUTATION_JOBS) > mutmut-run.log 2>&1 ) \
	    || { tail -c 3000 $(MUTATION_BUILD)/mutmut-run.log; exit 1; }; \
	  echo "mutmut run: $$(( $$(date +%s) - start )) s" | tee $(MUTATION_BUILD)/mutmut-runtime.txt
	cd $(MUTATION_BUILD) && $(CURDIR)/$(PY) $(CURDIR)/hack/mutation_report.py --min $(MUTATION_MIN) --out mutation-report.md
