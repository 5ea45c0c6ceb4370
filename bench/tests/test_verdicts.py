"""vsp_bench.verdicts: PASS (True), FAIL (False) or not measured (None) per target, from a run's rows."""

import pytest
from results_fake import fleet_row, restore_row
from vsp_bench import verdicts


def verdict(rows, starting, fleet=()):
    found = [(name, ok) for name, ok, _ in verdicts.targets(rows, list(fleet)) if name.startswith(starting)]
    assert len(found) == 1, found
    return found[0][1]


def test_a_target_set_at_a_size_not_measured_is_not_measured():
    rows = [restore_row(16), restore_row(64)]
    assert verdict(rows, "N=256: (wall") is None
    assert verdict(rows, "requests per volume per phase") is None
    assert verdict(rows, "peak RSS of a module") is None
    assert verdict(rows, "N=1024: cost of the progress lines") is None


def test_the_ratio_to_the_bound_passes_at_its_limit_and_fails_above():
    bound = restore_row(256)["bound"]
    assert verdict([restore_row(256, wall=3.0 + 1.15 * bound)], "N=256: (wall") is True
    assert verdict([restore_row(256, wall=3.0 + 1.16 * bound)], "N=256: (wall") is False


def test_the_start_up_fails_when_one_size_is_over_it():
    assert verdict([restore_row(16), restore_row(64, startup=4.0)], "Ansible's fixed start-up") is True
    assert verdict([restore_row(16), restore_row(64, startup=4.01)], "Ansible's fixed start-up") is False


def test_requests_per_volume_per_phase_count_from_n_256_only():
    assert verdict([restore_row(64, per_phase=[2.0, 2.0]), restore_row(256, per_phase=[1.05, 1.0])],
                   "requests per volume per phase") is True
    assert verdict([restore_row(256, per_phase=[1.0, 1.06])], "requests per volume per phase") is False


def test_peak_rss_is_judged_at_n_1024():
    assert verdict([restore_row(1024, rss_mib=64.0)], "peak RSS of a module") is True
    assert verdict([restore_row(1024, rss_mib=64.5)], "peak RSS of a module") is False


def test_a_second_session_in_a_module_run_fails_one_session_per_module_run():
    assert verdict([restore_row(16)], "one session per module run") is True
    assert verdict([restore_row(16, one_session=False)], "one session per module run") is False
    assert verdict([restore_row(16, sessions=7)], "one session per module run") is False
    alone = restore_row(16)
    alone["module"]["block|16"]["sessions"] = 2
    assert verdict([alone], "one session per module run") is False


def test_the_speed_up_over_the_baseline_is_judged_at_n_256():
    row = restore_row(256)
    row["baseline"] = {"wall": 10.0 * row["wall"], "per_phase": [2.0, 2.0], "sessions": 1}
    assert verdict([row], "N=256: at least 10") is True
    row["baseline"]["wall"] = 9.9 * row["wall"]
    assert verdict([row], "N=256: at least 10") is False


@pytest.mark.parametrize(("wall_32", "ok"), [(80.0, True), (80.1, False)])
def test_the_fleet_scales_to_32_arrays(wall_32, ok):
    fleet = [fleet_row(1, 10.0), fleet_row(32, wall_32)]
    assert verdict([restore_row(16)], "fleet: K=32", fleet) is ok


@pytest.mark.parametrize(("verified_all", "ok"), [(True, True), (False, False)])
def test_the_fleet_writes_and_verifies_every_file(verified_all, ok):
    fleet = [fleet_row(1, 10.0), fleet_row(32, 50.0, verified_all=verified_all)]
    assert verdict([restore_row(16)], "fleet: every key file", fleet) is ok


def test_the_fleet_target_is_not_measured_without_k_1_and_k_32():
    assert verdict([restore_row(16)], "fleet: K=32", [fleet_row(1, 10.0), fleet_row(8, 20.0)]) is None


def test_wall_time_targets_are_reported_and_only_counts_fail_the_run():
    rows = [restore_row(16, startup=9.0), restore_row(256, wall=100.0)]
    found = verdicts.targets(rows, [])
    timed_failures = [name for name, ok, dummy in found if ok is False and verdicts.is_timed(name)]
    assert timed_failures and verdicts.gating_failures(found) == []
    rows = [restore_row(256, per_phase=[1.0, 1.06])]
    assert verdicts.gating_failures(verdicts.targets(rows, [])) == ["requests per volume per phase ≤ 1.05 (N ≥ 256)"]
