"""vsp_bench.eda and its targets: the requests a poll costs by the source's design, the sessions per hour, the
verdicts of made-up rows (counts gate, the exposure window is reported), and the page. Nothing here starts
ansible-rulebook or a simulator."""

import argparse
import copy

import pytest
from results_fake import EDA_META, eda_row
from vsp_bench import eda, eda_page, verdicts


def eda_verdict(rows, starting):
    found = [(name, ok) for name, ok, dummy in verdicts.eda_targets(rows) if name.startswith(starting)]
    assert len(found) == 1, found
    return found[0][1]


# -- the source's design ---------------------------------------------------------------------------------------
def ids(first, count):
    return [str(k) for k in range(first, first + count)]


@pytest.mark.parametrize(("counts", "requests"), [
    ({}, 4),                                                      # an empty array: one GET per type
    ({"DEK": 64, "FREE": 0}, 4),
    ({"DEK": 1023, "FREE": 1023}, 4),
    ({"DEK": 1024}, 5),                                           # a full page: one more GET, which answers none
    # DEK 0..2047: 2 full pages and an empty one; FREE 2048..4095: 2 full pages, the last ends at the largest id
    ({"DEK": 2048, "FREE": 2048}, 3 + 2 + 1 + 1),
])
def test_a_poll_costs_one_get_per_key_type_and_one_per_further_page(counts, requests):
    start, by_type = 0, {}
    for key_type in ("DEK", "FREE"):
        by_type[key_type] = ids(start, counts.get(key_type, 0))
        start += counts.get(key_type, 0)
    assert eda.designed_poll_requests(by_type) == requests


def test_a_full_array_ends_the_pages_at_the_largest_key_id():
    # 4096 keys, ids 0..4095: the DEK list is pages of 1024 until the last id, no empty page after it
    assert eda.list_requests(ids(0, 4096), paged=True) == 4
    assert eda.list_requests(ids(0, 4096), paged=False) == 1
    # 4096 keys split DEK 0..1999, FREE 2000..4095: DEK 2 pages + 1 (the second page is not full: 976), FREE 3
    assert eda.designed_poll_requests({"DEK": ids(0, 2000), "FREE": ids(2000, 2096)}) == 2 + 3 + 1 + 1


def test_ids_by_type_leaves_lost_keys_out():
    state = {"keys": [{"keyId": "0", "keyType": "DEK", "lost": True}, {"keyId": "1", "keyType": "DEK", "lost": False},
                      {"keyId": "2", "keyType": "FREE", "lost": False}]}
    assert eda.ids_by_type(state) == {"DEK": ["1"], "CEK": [], "KEK": [], "FREE": ["2"]}


def test_sessions_per_hour_is_one_log_in_plus_the_log_ins_again_of_an_hour_of_polls():
    assert eda.sessions_per_hour(1, 10) == 1
    assert eda.sessions_per_hour(0, 10) == 1  # not even logged in: still counted as the one session
    assert eda.sessions_per_hour(2, 10) == pytest.approx(1 + 60 / 10.0)  # one log in again per 10 polls, 60 polls an hour
    assert eda.sessions_per_hour(11, 10, interval=3600) == 2


# -- the targets ------------------------------------------------------------------------------------------------
def test_every_target_passes_on_rows_that_meet_them_and_none_is_measured_without_rows():
    found = verdicts.eda_targets([eda_row(64), eda_row(4096)])
    assert [ok for dummy, ok, dummy2 in found] == [True] * 6
    assert {ok for dummy, ok, dummy2 in verdicts.eda_targets([])} == {None}


@pytest.mark.parametrize("changes", [
    {"idle_poll": {"requests": 5}},                 # one GET more than the design
    {"idle_poll": {"writes": 1, "requests": 4}},
    {"sessions": {"key_list_requests": 41}},        # a poll of the source read more than the design
])
def test_requests_per_idle_poll_fail_when_they_differ_from_the_design(changes):
    assert eda_verdict([eda_row(64), eda_row(4096, **changes) if "sessions" in changes else eda_row(64, **changes)],
                       "EDA: requests per poll") is False


def test_a_log_in_again_fails_the_sessions_per_hour():
    assert eda_verdict([eda_row(64, sessions={"logins": 2, "logouts": 2, "per_hour": 7.0})], "EDA: sessions per hour") is False


@pytest.mark.parametrize("changes", [{"sessions": {"left_open": 1}}, {"sessions": {"logouts": 0}},
                                     {"exposure": {"left_open": 1}}])
def test_a_session_left_open_fails(changes):
    assert eda_verdict([eda_row(64, **changes)], "EDA: every session logged out") is False


@pytest.mark.parametrize("changes", [{"backup_runs": 2}, {"backup_runs": 0}, {"key_files": 2}])
def test_a_burst_is_one_backup_run_and_one_key_file(changes):
    assert eda_verdict([eda_row(64, exposure=changes)], "EDA: one backup run") is False


@pytest.mark.parametrize("changes", [{"new_keys_in_file": 47}, {"created": 47, "new_keys_in_file": 47},
                                     {"problems": ["the manifest's MAC does not open with the backup password"]}])
def test_the_key_file_holds_every_new_key_and_is_verified(changes):
    assert eda_verdict([eda_row(64, exposure=changes)], "EDA: the new key file") is False


def test_the_exposure_window_over_its_bound_is_reported_and_does_not_fail_the_run():
    rows = [eda_row(64, exposure={"window": 12.0})]
    found = verdicts.eda_targets(rows)
    assert eda_verdict(rows, "EDA: exposure window") is False
    assert verdicts.is_timed("EDA: exposure window ≤ poll interval + settling + one backup run")
    assert verdicts.gating_failures(found) == []
    rows = [eda_row(64, exposure={"window": 12.0, "backup_runs": 2})]
    assert verdicts.gating_failures(verdicts.eda_targets(rows)) == ["EDA: one backup run for a burst of 48 new keys"]


# -- the page ---------------------------------------------------------------------------------------------------
def test_the_page_shows_the_figures_and_the_verdicts(tmp_path):
    rows = [eda_row(64), eda_row(4096, exposure={"window": 12.0})]
    opts = argparse.Namespace(out=str(tmp_path / "eda.md"), **EDA_META["opts"])
    found = eda_page.write_eda_page(rows, opts, copy.deepcopy(EDA_META))
    page = (tmp_path / "eda.md").read_text()
    assert "| 64 | 4 (4) | 0.100 s | 1 over 10 polls at 1 s | 1.00 (60 s) | 9.0 s (11.5 s) | 3.0 s + 6.0 s | 1 / 1 |" in page
    assert "- **OVER** EDA: exposure window" in page and "(wall time: reported, not gated)" in page
    assert "- **PASS** EDA: one backup run for a burst of 48 new keys" in page
    assert "{" not in page.replace("{'", "")  # every field of the template filled
    assert len(found) == 6
