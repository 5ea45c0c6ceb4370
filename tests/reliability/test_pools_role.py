"""Pools around the restore (issue #13), through the restore role, judged by the simulator's state.

With the scenario option `pools_stay_blocked` the simulated array behaves as an array may: a pool whose pool
volume was blocked stays POLE after its volumes are normal again, until the documented pool recover call.
The restore role must end with every pool volume NML *and* every pool of them POLN, having named the pools
and DP volumes that go offline in its plan; a rerun converges.
"""
import os

import pytest
from rel_helpers import BACKUP_PASSWORD, run_playbook, play, write_requests
from test_roles import read_results, role_task, with_results


def run_role(work, name, sim, role, variables):
    results_path = os.path.join(str(work), name + ".results.json")
    proc = run_playbook(work, name + ".yml", [play(with_results([role_task(name, role, variables, register=name)], results_path), sim)])
    return proc, read_results(results_path)


@pytest.fixture(scope="module")
def blocked_pools(sim, tmp_path_factory):
    work = tmp_path_factory.mktemp("pools")
    sim.control.reset({"options": {"pools_stay_blocked": True}})
    backups = str(work / "backups")
    backup, backup_results = run_role(work, "backup", sim, "encryption_key_backup", {
        "encryption_key_backup_dir": backups, "encryption_key_backup_password": BACKUP_PASSWORD})
    sim.control.lose_keys("1-1")
    sim.control.clear_requests()
    restore, results = run_role(work, "restore", sim, "encryption_key_restore", {
        "encryption_key_restore_path": backups, "encryption_key_restore_backup_password": BACKUP_PASSWORD,
        "encryption_key_restore_confirm": True})
    state = sim.control.state()
    log = sim.control.requests_log()
    sim.control.clear_requests()
    rerun, rerun_results = run_role(work, "rerun", sim, "encryption_key_restore", {
        "encryption_key_restore_path": backups, "encryption_key_restore_backup_password": BACKUP_PASSWORD,
        "encryption_key_restore_confirm": True, "encryption_key_restore_parity_groups": "1-1"})
    return {"backup": backup_results, "restore": restore, "results": results, "state": state, "log": log,
            "rerun": rerun_results, "rerun_state": sim.control.state(), "rerun_log": sim.control.requests_log()}


@pytest.mark.reliability("rerun")
def test_restore_recovers_pools_left_blocked(blocked_pools):
    assert blocked_pools["backup"]["backup"] is not None, blocked_pools["backup"].get("backup_failed")
    assert blocked_pools["results"]["restore"] is not None, (blocked_pools["results"].get("restore_failed"),
                                                             blocked_pools["restore"].stdout[-4000:])
    state = blocked_pools["state"]
    assert state["lost_parity_groups"] == []
    pool_volumes = [ld for ld in state["ldevs"] if "POOL" in ld.get("attributes", [])]
    assert pool_volumes and all(ld["status"] == "NML" for ld in pool_volumes)
    assert state["pools"] and all(p["poolStatus"] == "POLN" for p in state["pools"])
    recovers = [e for e in blocked_pools["log"] if e["method"] == "POST" and e["path"].endswith("/actions/recover/invoke")]
    assert [e["status"] for e in recovers] and all(e["status"] in (200, 202) for e in recovers)
    # the plan named the pool and its DP volumes before anything went offline
    out = blocked_pools["restore"].stdout
    assert "Offline from the block until the recovery: pool(s) 0" in out and "DP volume(s)" in out


@pytest.mark.reliability("rerun")
def test_rerun_after_the_restore_changes_nothing(blocked_pools):
    assert blocked_pools["rerun"]["rerun"] is not None, blocked_pools["rerun"].get("rerun_failed")
    assert not write_requests(blocked_pools["rerun_log"])
    pools = blocked_pools["rerun_state"]["pools"]
    assert pools and all(p["poolStatus"] == "POLN" for p in pools)
