"""vsp_bench.render: the page and its charts, written from a (made-up) results.json without measuring."""

import argparse
import json

from results_fake import results
from vsp_bench import cli, render
from vsp_bench.verdicts import is_timed


def write(tmp_path, saved):
    opts = argparse.Namespace(**dict(saved["meta"]["opts"], out=str(tmp_path / "performance.md")))
    verdicts = render.write_page(saved["rows"], saved["fleet"], opts, saved["meta"])
    return (tmp_path / "performance.md").read_text(), verdicts


def test_the_page_names_the_machine_and_the_commit_measured(tmp_path):
    page, _ = write(tmp_path, results())
    assert page.startswith("# Performance\n")
    assert "at commit abc1234" in page.split("\n\n", 2)[1]  # in the header
    assert "2 cores (Test CPU @ 2.0GHz), 7.7 GiB memory, Linux 6.1" in page
    assert "`python -m vsp_bench --sizes 16 64`" in page


def test_the_page_lists_every_verdict(tmp_path):
    page, verdicts = write(tmp_path, results())
    for name, ok, _ in verdicts:
        marks = {True: "WITHIN", False: "OVER", None: "NOT MEASURED"} if is_timed(name) else \
            {True: "PASS", False: "FAIL", None: "NOT MEASURED"}
        assert "- **%s** %s" % (marks[ok], name) in page
    assert "- **PASS** one session per module run (every N)" in page
    assert "- **NOT MEASURED** N=256: (wall − start-up) / bound ≤ 1.15" in page


def test_the_charts_are_written_next_to_the_page_and_linked_from_it(tmp_path):
    page, _ = write(tmp_path, results())
    for name in ("performance-restore.svg", "performance-fleet.svg"):
        assert (tmp_path / name).read_text().startswith("<svg")
        assert "](%s)" % name in page


def test_render_writes_the_page_again_from_results_json_with_its_exit_status(tmp_path, monkeypatch, capsys):
    saved = results()
    saved["rows"][0]["one_session"] = False  # one target fails: exit status 1
    (tmp_path / "results.json").write_text(json.dumps(saved))
    out = tmp_path / "page" / "performance.md"
    monkeypatch.setattr("sys.argv", ["vsp_bench", "--render", str(tmp_path / "results.json"), "--out", str(out)])
    assert cli.main() == 1
    assert "FAIL    one session per module run" in capsys.readouterr().out


def test_a_wall_time_over_its_bound_is_reported_and_does_not_fail_the_run(tmp_path, monkeypatch, capsys):
    saved = results()
    saved["rows"][0]["startup"] = 60.0  # a busy machine: the start-up over its bound
    (tmp_path / "results.json").write_text(json.dumps(saved))
    out = tmp_path / "page" / "performance.md"
    monkeypatch.setattr("sys.argv", ["vsp_bench", "--render", str(tmp_path / "results.json"), "--out", str(out)])
    assert cli.main() == 0
    assert "OVER    Ansible's fixed start-up" in capsys.readouterr().out
    assert "- **OVER** Ansible's fixed start-up" in out.read_text()
    assert out.read_text().startswith("# Performance\n")
