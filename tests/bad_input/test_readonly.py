"""Inputs are read-only, names from data are single folder names, Ctrl-C and OS errors are one line.

Every case hashes each input file before and after the command: a refused command changes nothing.
"""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest

from lofi.cli import main


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    """A 2-s simulated walk: a raw session folder (session.yaml, csi.csv, video, calibration)."""
    out = tmp_path_factory.mktemp("raw") / "walk"
    assert main(["simulate", "--subject", "S1", "--seconds", "2", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def interim(session, tmp_path_factory) -> Path:
    """The session's completed CSI, written where a user would keep it."""
    folder = tmp_path_factory.mktemp("interim")
    assert main(["csi", str(session), "--out", str(folder / "csi.parquet")]) == 0
    return folder


def digests(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders`` (names relative to the file system root)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for f in folders for p in sorted(f.rglob("*"))
            if p.is_file()}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["csi", "{S}", "--out", "{S}/csi.csv"], ["csi.csv: lies in the raw session folder"]),
        (["inspect", "{S}", "--out", "{S}/csi.csv"], ["lies in the raw session folder", "session.yaml"]),
        (["inspect", "{S}", "--out", "{S}/summary.json"], ["never writes into a recording"]),
        (["align", "{S}", "--csi", "{I}/csi.parquet", "--out", "{S}/frames.csv"], ["raw session folder"]),
        (
            ["align", "{S}", "--csi", "{I}/csi.parquet", "--out", "{I}/csi.parquet"],
            ["is an input of `lofi align`"],
        ),
        (["detect", "{S}", "--detector", "hog", "--out", "{S}/video.mp4"], ["raw session folder"]),
        (["dataset", "x", "--interim", "{I}", "--out-dir", "{S}"], ["raw session folder"]),
        (["calibrate", "--anchor", "1,2,0,0", "--out", "{S}/notes.yaml"], ["raw session folder"]),
    ],
)
def test_an_output_that_is_an_input_or_in_a_recording_is_refused(lofi, session, interim, args, fragments):
    before = digests(session, interim)
    listed = sorted(p.name for p in session.iterdir())
    outcome = lofi(*[a.replace("{S}", str(session)).replace("{I}", str(interim)) for a in args])
    outcome.refused(*fragments)
    assert digests(session, interim) == before
    assert sorted(p.name for p in session.iterdir()) == listed


def test_a_symbolic_link_to_an_input_is_the_input(lofi, session, interim, tmp_path):
    link = tmp_path / "elsewhere.parquet"
    link.symlink_to(interim / "csi.parquet")
    before = digests(interim)
    lofi("align", session, "--csi", link, "--out", interim / "csi.parquet").refused("is an input")
    assert digests(interim) == before


def test_calibrate_writes_a_recordings_calibration(lofi, session, tmp_path):
    """The calibration is part of the recording (DESIGN §5): `lofi calibrate` makes it there."""
    copy = tmp_path / "walk"
    copy.mkdir()
    (copy / "session.yaml").write_text((session / "session.yaml").read_text())
    anchors = ["--anchor", "100,400,0,0", "--anchor", "540,400,1.8,0", "--anchor", "500,150,1.8,4.8",
               "--anchor", "140,150,0,4.8"]  # fmt: skip
    assert lofi("calibrate", *anchors, "--out", copy / "calibration.yaml").code == 0
    assert (copy / "calibration.yaml").is_file()


@pytest.mark.parametrize("bad_id", ["../../escape", "a/b", ".."])
def test_a_session_id_that_is_a_path_is_refused(lofi, session, tmp_path, bad_id):
    copy = tmp_path / "raw" / "walk"
    copy.mkdir(parents=True)
    for name in ("session.yaml", "csi.csv"):
        (copy / name).write_bytes((session / name).read_bytes())
    meta = (copy / "session.yaml").read_text().splitlines()
    (copy / "session.yaml").write_text(
        "\n".join(f"id: {bad_id!r}" if m.startswith("id:") else m for m in meta)
    )
    outcome = lofi("--root", tmp_path, "csi", copy)
    outcome.refused("session.yaml: id", "cannot be a folder name")
    assert not (tmp_path / "data").exists() and not (tmp_path.parent / "escape").exists()


@pytest.mark.parametrize(("option", "value"), [("--id", "../evil"), ("--id", "a/b"), ("--id", "..")])
def test_simulate_refuses_an_id_that_is_a_path(lofi, tmp_path, option, value):
    outcome = lofi("simulate", "--subject", "S1", "--seconds", "1", option, value, "--out", tmp_path / "s")
    outcome.refused("--id", "not a plain folder name")
    assert not (tmp_path / "s").exists()


def test_a_stray_file_does_not_shadow_the_packaged_scene(lofi, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("lab").write_text("rooms: []\n")
    lofi("preview-scene", "--scene", "lab", "--out", tmp_path / "p.png").refused(
        "names both the packaged scene and a file", "./lab"
    )
    assert not (tmp_path / "p.png").exists()


def test_ctrl_c_is_one_line_exit_130_and_leaves_no_output(lofi, session, tmp_path, monkeypatch):
    import lofi.stages.csi as stage

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "complete_csi", interrupted)
    outcome = lofi("csi", session, "--out", tmp_path / "csi.parquet")
    assert outcome.code == 130 and "Traceback" not in outcome.err
    assert outcome.err.strip() == "lofi csi: interrupted; no partial output was kept"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EACCES])
def test_an_os_error_while_writing_names_the_file(lofi, session, tmp_path, monkeypatch, code):
    import os

    real_fsync = os.fsync

    def failing(fd):
        real_fsync(fd)
        raise OSError(code, os.strerror(code))  # as a full disk reports it: no file name

    monkeypatch.setattr(os, "fsync", failing)
    out = tmp_path / "summary.json"
    lofi("inspect", session, "--out", out).refused(str(out), os.strerror(code))
    assert list(tmp_path.iterdir()) == []


def test_a_report_written_beside_an_output_may_not_replace_an_input(lofi, session, interim, tmp_path):
    """`lofi align --out X.other` writes its summary to X.json: that may not be csi.json."""
    copy = tmp_path / "interim"
    copy.mkdir()
    (copy / "csi.parquet").write_bytes((interim / "csi.parquet").read_bytes())
    (copy / "csi.json").write_bytes((interim / "csi.json").read_bytes())
    before = digests(copy)
    out, positions = copy / "csi.aligned", tmp_path / "positions.csv"
    positions.write_text("t_host,x_m,y_m\n1.0,0.5,0.5\n")
    outcome = lofi("align", session, "--csi", copy / "csi.parquet", "--positions", positions, "--out", out)
    outcome.refused("csi.json", "is an input")
    assert digests(copy) == before


def test_table2_and_report_write_nothing_into_the_runs_they_read(lofi, session, tmp_path):
    runs = tmp_path / "runs"
    (runs / "a-seed0").mkdir(parents=True)
    (runs / "a-seed0" / "metrics.json").write_text('{"model": "mean", "seed": 0, "test/err_mean": 1.0}')
    before = digests(runs, session)
    lofi("table2", runs, "--out", runs / "a-seed0" / "metrics.json").refused("which `lofi table2` reads")
    lofi("table2", runs, "--out", runs / "table.md").refused(f"lies in {runs}")
    lofi("table2", runs, "--out", session / "csi.csv").refused("raw session folder")
    lofi("report", runs, "--out-dir", runs / "a-seed0").refused(f"lies in {runs}")
    lofi("report", runs, "--only", "../elsewhere").refused("--only", "not a plain folder name")
    assert digests(runs, session) == before


def test_a_data_set_name_cannot_lead_into_a_recording_or_an_input(lofi, session, tmp_path):
    interim = tmp_path / "interim" / "walk"
    interim.mkdir(parents=True)
    before = digests(session)
    lofi("dataset", session.name, "--interim", interim, "--out-dir", session.parent).refused(
        "raw session folder"
    )
    lofi("dataset", "walk", "--interim", interim, "--out-dir", interim.parent).refused("is an input")
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "linked").symlink_to(interim)
    lofi("dataset", "linked", "--interim", interim, "--out-dir", tmp_path / "sets").refused("is an input")
    assert digests(session) == before and list(interim.iterdir()) == []
