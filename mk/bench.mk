# Performance benchmark (issue #7): the key restore role against the array's lower bound and against
# a uri-task baseline, on the simulator. Not part of `make test` (it takes minutes and its figures
# depend on the machine's load).
#   make bench                  N = 16 64 256; the baseline at 16 and 64 (256 extrapolated)
#   make bench BENCH_FULL=1     also measure the baseline at 256 (about 15 minutes more)
# Writes docs/performance.md and prints the table with PASS/FAIL per target (exit status 1 on a FAIL).
.PHONY: bench

BENCH_SIZES          ?= 16 64 256
BENCH_LATENCY_MS     ?= 5
BENCH_JOB_MS         ?= 200
BENCH_PARALLELISM    ?= 8
BENCH_REPEAT         ?= 2
BENCH_BASELINE_SIZES ?=
BENCH_FULL           ?=
BENCH_OUT            ?= docs/performance.md

bench: collection
	$(PY) bench/run.py --build $(BUILD) --sizes "$(BENCH_SIZES)" --latency-ms $(BENCH_LATENCY_MS) \
	  --job-ms $(BENCH_JOB_MS) --parallelism $(BENCH_PARALLELISM) --repeat $(BENCH_REPEAT) --out $(BENCH_OUT) \
	  $(if $(strip $(BENCH_BASELINE_SIZES)),--baseline-sizes "$(BENCH_BASELINE_SIZES)") \
	  $(if $(filter 1,$(BENCH_FULL)),--full)
