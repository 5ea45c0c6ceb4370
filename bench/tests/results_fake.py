"""A small made-up results.json (rows of the restore at N, rows of the fleet at K): what the tests judge and render."""

import copy


def restore_row(n, **changes):
    """A row of the key restore at N that meets every target (figures made up, shaped as vsp_bench.restore writes them)."""
    row = {
        "n": n, "groups": 4, "pools": 1, "bound": n / 8 * 0.4 + 0.2, "phase_bound": n / 8 * 0.2, "batch_size": 512,
        "batches": 1, "load_before": 1.0, "load_after": 1.5,
        "startup": 3.0, "startup_runs": [3.0], "startup_requests": 9, "startup_module_runs": 4,
        "wall": 3.0 + 1.05 * (n / 8 * 0.4 + 0.2), "wall_runs": [3.0 + 1.05 * (n / 8 * 0.4 + 0.2)],
        "tasks": {"block": n / 8 * 0.2, "restore": 0.3, "recover": n / 8 * 0.2}, "items": {}, "task_runs": [{}],
        "ansible_modules": {"pool_volume_state": [2, 1.5, 40000]}, "startup_modules": {"pool_volume_info": [1, 0.5, 38000]},
        "rss_ansible_mib": 40.0, "rss_alone_mib": 45.0, "rss_mib": 45.0,
        "requests": 3 * n + 20, "kinds": {"change-status": 2 * n, "job poll": n, "log in": 6, "log out": 6},
        "module_runs": 6, "sessions": 6, "one_session": True, "per_phase": [1.0, 1.0], "batch_requests": [[n + 2], [n + 2]],
        "module": {"block|16": {"phase": "block", "concurrency": 16, "wall": 1.0, "rss_kib": 40000, "cpu": 0.5,
                                "requests": n + 2, "sessions": 1, "kinds": {"change-status": n}},
                   "recover|16": {"phase": "recover", "concurrency": 16, "wall": 1.0, "rss_kib": 40000, "cpu": 0.5,
                                  "requests": n + 2, "sessions": 1, "kinds": {"change-status": n}}},
        "readers": {"pool_volume_info": {"wall": 0.5, "rss_kib": 38000, "cpu": 0.3}},
    }
    row.update(changes)
    return row


def fleet_row(k, wall, **changes):
    row = {"k": k, "variant": "defaults", "wall": wall, "wall_runs": [wall], "cpu_tree": 2.0 * k, "cpu_controller": 1.0,
           "cpu_modules": 0.8 * k, "module_runs": 2 * k, "modules": {"encryption_key_backup": [k, 0.8 * k, 42000]},
           "machine_busy": 3.0 * k, "cpu_simulators": 0.3 * k, "sessions": k, "sessions_per_array": 1, "open_sessions": 0,
           "kinds": {"log in": k, "log out": k}, "verified": k, "problems": [], "verified_all": True,
           "load_before": 1.0, "load_after": 1.2, "cores": 2}
    row.update(changes)
    return row


MACHINE = {"cores": 2, "cpu_model": "Test CPU @ 2.0GHz", "memory_gib": 7.7, "kernel": "Linux 6.1", "python": "3.12.1",
           "ansible": "ansible [core 2.21.5]", "simulator": "0.1.0", "collection": "0.1.0",
           "speed": {"python_loop_s": 0.9, "ansible_import_s": 0.7, "pbkdf2_s": 0.3}, "commit": "abc1234"}

OPTS = {"sizes": [16, 64], "latency_ms": 5, "job_ms": 200, "parallelism": 8, "baseline_sizes": None, "repeat": 1,
        "fleet": [1, 2], "fleet_pipelining": False, "fleet_repeat": 1, "batch_size": None, "full": False,
        "out": "ignored", "render": None, "build": "ignored"}


def results():
    """A results.json of a run at N = 16, 64 and K = 1, 2."""
    return copy.deepcopy({
        "rows": [restore_row(16, baseline={"wall": 80.0, "requests": 100, "kinds": {}, "sessions": 1,
                                           "per_phase": [2.5, 2.0], "volume_tasks": [32, 70.0]}),
                 restore_row(64, baseline={"wall": 300.0, "requests": 400, "kinds": {}, "sessions": 1,
                                           "per_phase": [2.5, 2.0], "volume_tasks": [128, 280.0]})],
        "fleet": [fleet_row(1, 10.0), fleet_row(2, 12.0)],
        "targets": [],
        "meta": {"started": 1796000000.0, "elapsed": 300.0, "load_start": 1.0, "load_end": 1.5, "machine": MACHINE,
                 "defaults": {"concurrency": 16, "batch_size": 512}, "command": "python -m vsp_bench --sizes 16 64",
                 "opts": OPTS},
    })


def eda_row(keys, **changes):
    """A row of the EDA benchmark at ``keys`` keys that meets every target (shaped as vsp_bench.eda writes them);
    ``changes`` replace fields of its parts: ``{"exposure": {"backup_runs": 2}}``."""
    designed = 4 if keys < 1024 else 7
    row = {
        "keys": keys, "keys_at_poll": keys, "load_before": 1.0, "load_after": 1.2,
        "idle_poll": {"requests": designed, "designed": designed, "writes": 0, "kinds": {"GET encryption-keys": designed},
                      "seconds": 0.1},
        "sessions": {"polls": 10, "interval": 1, "seconds": 10.5, "logins": 1, "logouts": 1,
                     "key_list_requests": 10 * designed, "kinds": {}, "events": ["started"], "left_open": 0,
                     "per_hour": 1.0, "default_interval": 60, "alive_s": 300},
        "exposure": {"window": 9.0, "detected": 3.0, "burst_run": 6.0, "poll_interval": 5, "settle_interval": 0.5,
                     "backup_run": 6.0, "bound": 11.5, "created": 48, "backup_runs": 1, "key_files": 1,
                     "keys_changed_events": 1, "new_keys_in_file": 48, "problems": [], "left_open": 0},
    }
    for part, fields in changes.items():
        row[part].update(fields)
    return row


EDA_META = {"started": 1796000000.0, "elapsed": 180.0, "load_start": 1.0, "load_end": 1.2, "machine": MACHINE,
            "command": "python -m vsp_bench --eda",
            "opts": {"eda_keys": [64, 4096], "eda_poll": 5, "eda_polls": 10, "latency_ms": 5, "job_ms": 200}}
