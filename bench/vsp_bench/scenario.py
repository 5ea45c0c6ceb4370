"""Benchmark scenarios: N pool volumes spread over several encrypted parity groups.

    PYTHONPATH=bench python -m vsp_bench.scenario N [FILE]     writes the scenario YAML (stdout without FILE)

The volumes are spread evenly over ``groups_for(N)`` encrypted parity groups of four drives each, all
in one pool (N = 1,024 is Hitachi's documented maximum of pool volumes per pool), no DP volumes: every
LDEV the procedure touches is a pool volume of a parity group whose keys the benchmark loses.

``fleet_scenario(index)`` is one array of a fleet: the simulator's default array with its own serial
number (so its own storage id).
"""

from __future__ import annotations

import sys

import yaml


def groups_for(n):
    """How many parity groups carry the N volumes: 4 (2 for N < 8, 1 for N < 2)."""
    if n >= 8:
        return 4
    return 2 if n >= 2 else 1


def parity_group_ids(n):
    return ["1-%d" % (i + 1) for i in range(groups_for(n))]


MAX_POOL_VOLUMES_PER_POOL = 1024
FLEET_FIRST_SERIAL = 420001


def scenario(n):
    """The scenario mapping for N pool volumes (see simulator/README.md, "Scenario format")."""
    if n < 1:
        raise ValueError("N must be at least 1")
    ids = parity_group_ids(n)
    base, extra = divmod(n, len(ids))
    if n > MAX_POOL_VOLUMES_PER_POOL:
        raise ValueError("at most %d pool volumes (one pool)" % MAX_POOL_VOLUMES_PER_POOL)
    groups = []
    for index, pg in enumerate(ids):
        count = base + (1 if index < extra else 0)
        groups.append({"id": pg, "encrypted": True, "drives": 4, "pool_volumes": {"pool": 0, "count": count}})
    return {
        "pools": [{"id": 0, "name": "bench-pool-0"}],
        "dp_volumes": [],
        "parity_groups": groups,
    }


def fleet_scenario(index):
    """Array ``index`` (0, 1, ...) of a fleet: the default array, serial FLEET_FIRST_SERIAL + index."""
    return {"storage": {"serialNumber": FLEET_FIRST_SERIAL + index}}


def write(n, path=None, data=None):
    text = yaml.safe_dump(scenario(n) if data is None else data, sort_keys=False)
    if path is None:
        sys.stdout.write(text)
    else:
        with open(path, "w") as handle:
            handle.write(text)
    return path


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m vsp_bench.scenario N [FILE]")
    write(int(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else None)
