# Performance benchmark (issues #7, #16, #25): the key restore role against the array's lower bound and
# against a uri-task baseline, and the backup playbook over a fleet of simulated arrays. Not part of
# `make test` (it takes minutes and its figures depend on the machine's load). The bench is the package
# bench/vsp_bench (one concern per module), run as `python -m vsp_bench` with PYTHONPATH=bench.
#   make bench                  N = 16 64 256 1024; the baseline at 16 and 64 (larger N extrapolated);
#                               the fleet at K = 1 8 32 arrays (one simulator process each)
#   make bench BENCH_FULL=1     also measure the baseline at 256 and 1024 (much longer)
# Writes $(REPORTS)/bench/: performance.md, its charts (performance-restore.svg, performance-fleet.svg)
# and results.json (the figures, the machine facts, the commit measured); work files stay under
# $(BUILD)/bench/. Prints the tables with PASS/FAIL per count target (exit status 1 on a FAIL) and WITHIN/OVER
# per wall-time target (reported, never a failure; bench/vsp_bench/verdicts.py).
#   make bench-doc              (maintainers) copy a run's page and charts into docs/performance.md and
#                               docs/performance-*.svg, the reference run the docs show; review, commit
.PHONY: bench bench-doc bench-unit

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
BENCH_OUT            ?= $(REPORTS)/bench/performance.md

bench: collection
	PYTHONPATH=bench $(PY) -m vsp_bench --build $(BUILD) --sizes "$(BENCH_SIZES)" --latency-ms $(BENCH_LATENCY_MS) \
	  --job-ms $(BENCH_JOB_MS) --parallelism $(BENCH_PARALLELISM) --repeat $(BENCH_REPEAT) --out $(BENCH_OUT) \
	  --fleet "$(BENCH_FLEET)" --fleet-repeat $(BENCH_FLEET_REPEAT) \
	  $(if $(strip $(BENCH_BASELINE_SIZES)),--baseline-sizes "$(BENCH_BASELINE_SIZES)") \
	  $(if $(strip $(BENCH_BATCH_SIZE)),--batch-size $(BENCH_BATCH_SIZE)) \
	  $(if $(filter 1,$(BENCH_FULL)),--full)

bench-doc:
	$(PY) hack/bench-doc $(BENCH_OUT)

# The bench's own unit tests (request-log counting, verdicts, the page from a made-up results.json): a gate
# of `make test`, seconds long; the benchmark itself is not.
bench-unit: $(STAMP)
	@mkdir -p $(REPORTS)
	PYTHONPATH=bench $(PYTEST) --junitxml=$(REPORTS)/bench-unit.xml bench/tests

TEST_GATES   += bench-unit
TEST_REPORTS += $(REPORTS)/bench-unit.xml
