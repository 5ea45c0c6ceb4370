# Performance benchmark (issues #7, #16): the key restore role against the array's lower bound and against
# a uri-task baseline, and the backup playbook over a fleet of simulated arrays. Not part of `make test` (it
# takes minutes and its figures depend on the machine's load).
#   make bench                  N = 16 64 256 1024; the baseline at 16 and 64 (larger N extrapolated);
#                               the fleet at K = 1 8 32 arrays (one simulator process each)
#   make bench BENCH_FULL=1     also measure the baseline at 256 and 1024 (much longer)
# Writes docs/performance.md and its charts (docs/performance-restore.svg, docs/performance-fleet.svg) and
# prints the tables with PASS/FAIL per target (exit status 1 on a FAIL).
.PHONY: bench

BENCH_SIZES          ?= 16 64 256 1024
BENCH_LATENCY_MS     ?= 5
BENCH_JOB_MS         ?= 200
BENCH_PARALLELISM    ?= 8
BENCH_REPEAT         ?= 2
BENCH_BASELINE_SIZES ?=
BENCH_FLEET          ?= 1 8 32
BENCH_FLEET_REPEAT   ?= 1
BENCH_BATCH_SIZE     ?=
BENCH_FULL           ?=
BENCH_OUT            ?= docs/performance.md

bench: collection
	$(PY) bench/run.py --build $(BUILD) --sizes "$(BENCH_SIZES)" --latency-ms $(BENCH_LATENCY_MS) \
	  --job-ms $(BENCH_JOB_MS) --parallelism $(BENCH_PARALLELISM) --repeat $(BENCH_REPEAT) --out $(BENCH_OUT) \
	  --fleet "$(BENCH_FLEET)" --fleet-repeat $(BENCH_FLEET_REPEAT) \
	  $(if $(strip $(BENCH_BASELINE_SIZES)),--baseline-sizes "$(BENCH_BASELINE_SIZES)") \
	  $(if $(strip $(BENCH_BATCH_SIZE)),--batch-size $(BENCH_BATCH_SIZE)) \
	  $(if $(filter 1,$(BENCH_FULL)),--full)
