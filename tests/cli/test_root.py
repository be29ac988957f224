"""Default paths resolve from `lofi --root`; paths the user types are used as given."""

from __future__ import annotations

import yaml

from lofi.cli import main


def test_defaults_follow_the_root_and_the_session_id(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    session = project / "data" / "raw" / "monday"
    root = ["--root", str(project)]
    simulate = ["--subject", "S1", "--seconds", "2", "--id", "walk_S1_mon", "--out", str(session), "--quiet"]
    assert main(["simulate", *simulate]) == 0
    assert yaml.safe_load((session / "session.yaml").read_text())["id"] == "walk_S1_mon"
    assert main([*root, "detect", str(session), "--detector", "bgsub", "--quiet"]) == 0
    assert main([*root, "localize", str(session)]) == 0
    assert main([*root, "csi", str(session)]) == 0
    assert main([*root, "align", str(session)]) == 0
    interim = project / "data" / "interim" / "walk_S1_mon"  # keyed by the id, not the folder's name
    assert sorted(p.name for p in interim.glob("*.parquet")) == [
        "aligned.parquet", "csi.parquet", "detections.parquet", "positions.parquet"
    ]  # fmt: skip
    assert main([*root, "dataset", "demo", "--interim", str(interim)]) == 0
    assert (project / "data" / "processed" / "demo" / "manifest.json").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing landed in the current folder
    typed = tmp_path / "typed.parquet"
    assert main([*root, "detect", str(session), "--detector", "bgsub", "--quiet", "--out", str(typed)]) == 0
    assert typed.is_file()
