"""The twin's fidelity report as files (``vsp-simulator --capture FILE``): Markdown and JSON beside
the capture (or where ``--fidelity-report`` says), mode 0600, written atomically, never through a
symbolic link, never over the capture, and every failure a clear error naming the path before the
twin listens. In process: ``cli.load`` is what ``cli.main`` runs before it serves."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile

import pytest
from test_twin import SDID, small_capture, twin
from vsp_simulator import capture, cli


def write_capture(directory, doc=None, name="vsp01.json"):
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(doc or small_capture()))
    return path


def load(*argv):
    return cli.load(cli.parse_args(["--no-tls", *map(str, argv)]))


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_report_lands_beside_the_capture_with_every_difference(tmp_path, capsys):
    cap = write_capture(tmp_path / "captures")
    load("--capture", cap)
    where = tmp_path / "captures"
    md, js = where / "vsp01.fidelity.md", where / "vsp01.fidelity.json"
    assert sorted(os.listdir(tmp_path / "captures")) == [
        "vsp01.fidelity.json", "vsp01.fidelity.md", "vsp01.json"]  # no temporary file left
    assert mode(md) == mode(js) == 0o600
    out = capsys.readouterr().out
    assert f"twin fidelity report: {md} (and {js})" in out
    report = capture.load_file_report(small_capture())
    doc = json.loads(js.read_text())
    assert doc["fidelity"] == report and doc["redacted"] is False
    assert doc["capture"] == {"storage_device_id": SDID, "model": "VSP G900",
                              "api_version": "1.20.0", "captured_at": "2026-12-01T00:00:00Z",
                              "redacted": False, "file": "vsp01.json"}
    text = md.read_text()
    title = text.splitlines()[0]
    assert SDID in title and "1.20.0" in title and "2026-12-01T00:00:00Z" in title
    assert f"**{len(report['differences'])} field difference(s)**" in text
    # each difference is a row: object, field, what, how many, the array's value, the model's
    assert "| pool | `siteField` | only the array sends it | 1 | `7` | not sent |" in text
    assert '| storage | `svpIp` | only the array sends it | 1 | `"10.1.2.3"` | not sent |' in text
    assert '| parity group | `raidType` | value differs | 1 | `"7D+1P"` | `"3D+1P"` |' in text
    assert '| version | `apiVersion` | value differs | 1 | `"1.20.0"` | `"1.31.0"` |' in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(report["differences"]) + 1  # and the header
    assert "attach this file" in text and capture.ISSUES_URL in text
    assert "not redacted" in text and "redact: true" in text


def test_the_reads_the_capture_has_no_answer_for_are_listed_as_inferred(tmp_path):
    doc = small_capture()
    doc["answers"] = [a for a in doc["answers"] if a["path"] != "/v1/objects/drives"
                      or not a["query"]]  # the drives of the encrypted group were not captured
    doc["answers"].append({"method": "GET", "path": "/v1/objects/hosts", "query": {}, "status": 200,
                           "body": {"data": []}})
    cap = write_capture(tmp_path, doc)
    load("--capture", cap)
    text = (tmp_path / "vsp01.fidelity.md").read_text()
    inferred = text.split("## Reads not in the capture")[1].split("## ")[0]
    assert "- `GET drives?parityGroupId=<encrypted group>`" in inferred
    assert "- `GET /v1/objects/hosts: ignored (not an endpoint the procedure reads)`" in inferred
    by_model = text.split("## Calls no capture")[1]
    assert "POST encryption-keys/file/actions/restore/invoke" in by_model


def test_a_redacted_capture_says_so_and_a_rerun_replaces_the_report(tmp_path):
    doc = small_capture()
    doc["redacted"] = True
    cap = write_capture(tmp_path, doc)
    old = tmp_path / "vsp01.fidelity.md"
    old.write_text("an older report\n")
    old.chmod(0o644)
    load("--capture", cap)
    text = old.read_text()
    assert text.startswith("# vsp.encryption: twin fidelity of ") and "an older report" not in text
    assert "redacted (serial numbers, names, WWNs and addresses replaced)" in text
    assert "The capture is not redacted" not in text
    assert mode(old) == 0o600


@pytest.mark.parametrize("given, written", [
    ("reports/vsp01-twin.md", "reports/vsp01-twin"),
    ("reports/vsp01-twin.json", "reports/vsp01-twin"),
    ("reports/vsp01-twin", "reports/vsp01-twin"),
    ("reports", "reports/vsp01.fidelity"),
    ("reports/", "reports/vsp01.fidelity"),
])
def test_fidelity_report_names_the_file_or_its_directory(tmp_path, given, written):
    cap = write_capture(tmp_path / "captures")
    (tmp_path / "reports").mkdir()
    load("--capture", cap, "--fidelity-report", str(tmp_path / given))
    for suffix in (".md", ".json"):
        assert mode(str(tmp_path / written) + suffix) == 0o600
    assert sorted(os.listdir(tmp_path / "captures")) == ["vsp01.json"]  # nothing beside the capture


def test_a_symlink_at_the_report_is_refused_and_nothing_is_written(tmp_path, capsys):
    cap = write_capture(tmp_path / "captures")
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("not yours\n")
    link = tmp_path / "captures" / "vsp01.fidelity.md"
    link.symlink_to(elsewhere)
    assert cli.main(["--no-tls", "--capture", str(cap)]) == 2
    err = capsys.readouterr().err
    assert f"fidelity report {link}: is a symbolic link, which is not followed" in err
    assert "nothing was written and the twin did not start" in err
    assert elsewhere.read_text() == "not yours\n" and os.path.islink(link)
    assert sorted(os.listdir(tmp_path / "captures")) == ["vsp01.fidelity.md", "vsp01.json"]
    # a dangling link too: it would create a file wherever it points
    link.unlink()
    link.symlink_to(tmp_path / "created-through-the-link.md")
    with pytest.raises(capture.CaptureError, match="symbolic link"):
        load("--capture", cap)
    assert not (tmp_path / "created-through-the-link.md").exists()
    # a link at the JSON file stops the Markdown file too (both or neither)
    link.unlink()
    (tmp_path / "captures" / "vsp01.fidelity.json").symlink_to(elsewhere)
    with pytest.raises(capture.CaptureError, match=r"vsp01\.fidelity\.json: is a symbolic link"):
        load("--capture", cap)
    assert not link.exists() and elsewhere.read_text() == "not yours\n"


def test_the_report_never_replaces_the_capture_or_a_directory(tmp_path):
    cap = write_capture(tmp_path)
    before = cap.read_text()
    with pytest.raises(capture.CaptureError, match="is the capture itself"):
        load("--capture", cap, "--fidelity-report", cap)
    assert cap.read_text() == before
    (tmp_path / "x.md").mkdir()
    with pytest.raises(capture.CaptureError, match=r"x\.md: exists and is not a regular file"):
        load("--capture", cap, "--fidelity-report", tmp_path / "x")


def test_a_report_that_cannot_be_written_is_a_clear_error_naming_the_path(
        tmp_path, capsys, monkeypatch):
    cap = write_capture(tmp_path)
    target = tmp_path / "missing" / "r"
    assert cli.main(["--no-tls", "--capture", str(cap), "--fidelity-report", str(target)]) == 2
    err = capsys.readouterr().err
    missing = tmp_path / "missing"
    assert f"fidelity report {target}.md: the directory {missing} does not exist" in err
    if os.geteuid() != 0:  # root writes into a read-only directory
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            words = rf"{re.escape(str(ro))}/r\.md: cannot be written: Permission denied"
            with pytest.raises(capture.CaptureError, match=words):
                load("--capture", cap, "--fidelity-report", ro / "r")
        finally:
            ro.chmod(0o700)

    # the same refusal as root sees it: the directory refuses the new file
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert cli.main(["--no-tls", "--capture", str(cap)]) == 2
    err = capsys.readouterr().err
    md = tmp_path / "vsp01.fidelity.md"
    assert f"fidelity report {md}: cannot be written: Permission denied" in err
    assert "--fidelity-report PATH" in err
    monkeypatch.undo()
    with pytest.raises(SystemExit):
        cli.parse_args(["--fidelity-report", str(tmp_path / "r")])
    assert "--fidelity-report needs --capture FILE" in capsys.readouterr().err


def test_a_hostile_value_stays_inside_its_table_cell(tmp_path):
    doc = small_capture()
    pools = next(a for a in doc["answers"] if a["path"] == "/v1/objects/pools")
    pools["body"]["data"][0]["x|`<script>`\ny"] = "a|b</td>``"
    cap = write_capture(tmp_path, doc)
    load("--capture", cap)
    text = (tmp_path / "vsp01.fidelity.md").read_text()
    row = next(line for line in text.splitlines() if "script" in line)
    assert "\n" not in row and "<script>" in row  # shown, inside a code span
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # six cells: every | of the capture is escaped
    assert "| ``x\\|`<script>`\\x0ay`` |" in row


def test_get_twin_names_the_capture_the_report_is_titled_with():
    sim, client = twin()
    got = client.get("/simulator/v1/twin").get_json()
    assert got["capture"] == {"storage_device_id": SDID, "model": "VSP G900",
                              "api_version": "1.20.0", "captured_at": "2026-12-01T00:00:00Z",
                              "redacted": False}


def test_a_capture_time_that_fails_its_check_is_not_shown():
    doc = small_capture()
    doc["captured_at"] = "<img src=x>"
    sim, client = twin(doc)
    assert client.get("/simulator/v1/twin").get_json()["capture"]["captured_at"] is None
    md = capture.report_markdown(sim.state.data["twin"])
    assert "<img" not in md and "captured at an unknown time" in md.splitlines()[0]
