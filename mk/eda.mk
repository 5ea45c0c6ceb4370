# Event-Driven Ansible (issue #29): the event source vsp.encryption.encryption_keys and the shipped rulebooks.
#   make eda   the rulebook tests (tests/eda): ansible-rulebook runs protect_encryption_keys from the copied collection
#              against simulators it starts itself; judged by the simulators' state and request log and the files written.
# ansible-rulebook's rules engine needs Java 17 or later: installed here with apt-get when missing (as root), else the
# gate fails saying what to install. ansible-rulebook finds a collection's event sources with ansible-galaxy from PATH:
# the venv's bin comes first.
.PHONY: eda java17

java17:
	@v=$$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -1); \
	  if [ -n "$$v" ] && [ "$$v" -ge 17 ]; then exit 0; fi; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Java 17 for ansible-rulebook (found: $${v:-none})"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	  else \
	    echo "ansible-rulebook needs Java 17 or later (found: $${v:-none}): install it, for example apt-get install openjdk-17-jre-headless or dnf install java-17-openjdk-headless, and run make eda again"; exit 1; \
	  fi

eda: collection java17
	@mkdir -p $(REPORTS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(PYTEST) --junitxml=$(REPORTS)/eda.xml tests/eda

EXTENDED_GATES   += eda
EXTENDED_REPORTS += $(REPORTS)/eda.xml

# Not part of `make test` (a few minutes, wall times depend on the machine's load): the event source's benchmark,
# the package bench/vsp_bench run with --eda (bench/vsp_bench/eda.py): at 64 and 4096 keys the requests of a poll that
# finds nothing changed (gated: the source's designed count), the sessions it opens (gated: at most 1 per hour per
# array at the default interval) and the exposure window with the shipped rulebook (48 keys created -> a verified key
# file; gated: one backup run and one key file for the burst, all 48 keys in it; the window reported beside its bound,
# never a failure). Writes $(REPORTS)/bench/eda.md and eda.json; exit status 1 when a count fails.
BENCH_EDA_KEYS  ?= 64 4096
BENCH_EDA_POLL  ?= 5
BENCH_EDA_POLLS ?= 10

.PHONY: bench-eda
bench-eda: collection java17
	PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONPATH=bench $(PY) -m vsp_bench --eda --build $(BUILD) \
	  --eda-keys "$(BENCH_EDA_KEYS)" --eda-poll $(BENCH_EDA_POLL) --eda-polls $(BENCH_EDA_POLLS) \
	  --latency-ms $(BENCH_LATENCY_MS) --job-ms $(BENCH_JOB_MS)
