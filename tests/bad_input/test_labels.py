"""Bad input to the labelling commands: detect and localize never turn it into plausible labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """Two 3-s walks (day1, day2: different people and clocks), each detected with bgsub."""
    from lofi.cli import main

    root = tmp_path_factory.mktemp("labels")
    for day, subject in (("day1", "S1"), ("day2", "S2")):
        session = root / day / "walk"
        args = ["--subject", subject, "--seconds", "3", "--seed", day[-1], "--out", str(session), "--quiet"]
        assert main(["simulate", *args]) == 0
        detections = root / day / "detections.parquet"
        assert main(["detect", str(session), "--detector", "bgsub", "--out", str(detections), "--quiet"]) == 0
    return root


def copy_session(labelled: Path, tmp_path: Path) -> Path:
    session = tmp_path / "walk"
    shutil.copytree(labelled / "day1" / "walk", session)
    return session


def detect(lofi, session: Path, out: Path):
    return lofi("detect", session, "--detector", "bgsub", "--out", out, "--quiet")


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (
            lambda f: f.assign(t_host=f["t_host"][::-1].to_numpy()),
            ["frames.csv: line 3", "frame times must increase"],
        ),
        (
            lambda f: f.assign(t_host=f["t_host"].where(f["frame"] != 5, float("inf"))),
            ["line 7", "not a finite"],
        ),
        (
            lambda f: f.assign(t_host=f["t_host"].astype(object).where(f["frame"] != 2, "soon")),
            ["line 4", "'soon'"],
        ),
        (lambda f: f.assign(frame=f["frame"] + 1), ["frames.csv: line 2", "frame 1 should be 0"]),
        (lambda f: f.drop(columns="t_host"), ["frames.csv: missing column(s) t_host"]),
    ],
)
def test_frames_csv_with_bad_times_is_refused(lofi, labelled, tmp_path, edit, fragments):
    session = copy_session(labelled, tmp_path)
    frames = pd.read_csv(session / "frames.csv")
    edit(frames).to_csv(session / "frames.csv", index=False)
    detect(lofi, session, tmp_path / "d.parquet").refused(str(session / "frames.csv"), *fragments)
    assert not (tmp_path / "d.parquet").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("csi_rate_hz", "fast"), ("camera_rate_hz", 0), ("csi_rate_hz", -100), ("camera_rate_hz", [30])],
)
def test_session_yaml_with_bad_rates_is_refused(lofi, labelled, tmp_path, field, value):
    session = copy_session(labelled, tmp_path)
    meta = yaml.safe_load((session / "session.yaml").read_text())
    (session / "session.yaml").write_text(yaml.safe_dump({**meta, field: value}))
    detect(lofi, session, tmp_path / "d.parquet").refused(
        str(session / "session.yaml"), field, "positive number"
    )
    assert not (tmp_path / "d.parquet").exists()


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda c: c["intrinsics"].update(fx=0), ["intrinsics.fx: 0 must be > 0"]),
        (lambda c: c.update(distortion=[0.1]), ["distortion: expected 4, 5 or 8 numbers"]),
        (lambda c: c["region"].update(x_m=[0, 0]), ["region.x_m", "hi > lo"]),
        (lambda c: c["anchors"][0].update(floor=[1e308, 0]), ["anchor 0 floor", "beyond"]),
        (lambda c: c["anchors"].pop(), ["at least 4 anchors"]),
    ],
)
def test_unusable_calibration_gives_no_positions(lofi, labelled, tmp_path, edit, fragments):
    session = copy_session(labelled, tmp_path)
    calibration = yaml.safe_load((session / "calibration.yaml").read_text())
    edit(calibration)
    (session / "calibration.yaml").write_text(yaml.safe_dump(calibration))
    out = tmp_path / "p.parquet"
    result = lofi("localize", session, "--detections", labelled / "day1" / "detections.parquet", "--out", out)
    result.refused(str(session / "calibration.yaml"), *fragments)
    assert not out.exists()


def test_binary_calibration_names_the_file(lofi, labelled, tmp_path):
    session = copy_session(labelled, tmp_path)
    (session / "calibration.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    out = tmp_path / "p.parquet"
    lofi("localize", session, "--detections", labelled / "day1" / "detections.parquet", "--out", out).refused(
        str(session / "calibration.yaml"), "not valid YAML"
    )


def test_detections_of_another_session_are_refused(lofi, labelled, tmp_path):
    """day2/walk must not be labelled with day1/walk's detections (same folder name, other video)."""
    out = tmp_path / "p.parquet"
    day1 = labelled / "day1" / "detections.parquet"
    lofi("localize", labelled / "day2" / "walk", "--detections", day1, "--out", out).refused(
        str(day1), "a different frames.csv", "lofi detect"
    )
    plain = tmp_path / "plain.parquet"  # the same table without its provenance: the host times tell
    pd.read_parquet(day1).to_parquet(plain)
    lofi("localize", labelled / "day2" / "walk", "--detections", plain, "--out", out).refused(
        str(plain), "belong to another session"
    )
    assert not out.exists()
    assert lofi("localize", labelled / "day1" / "walk", "--detections", day1, "--out", out).code == 0


@pytest.mark.parametrize("value", ["nan", "inf", "5", "abc"])
def test_foot_offset_must_be_a_plausible_number(lofi, labelled, tmp_path, value):
    session = labelled / "day1" / "walk"
    args = ["--detections", labelled / "day1" / "detections.parquet", "--out", tmp_path / "p.parquet"]
    lofi("localize", session, *args, "--foot-offset-m", value).refused("--foot-offset-m")
    fitted = tmp_path / "foot_offset.json"
    offset = {"foot_offset_m": float(value) if value != "abc" else value, "foot_point": "bottom_middle",
              "detector": "bgsub", "fitted_on": ["x"]}  # fmt: skip
    fitted.write_text(json.dumps(offset))
    lofi("localize", session, *args, "--foot-offset-from", fitted).refused(str(fitted), "foot_offset_m")
    assert not (tmp_path / "p.parquet").exists()


def test_align_refuses_csi_or_positions_of_another_session(lofi, labelled, tmp_path):
    day1, day2 = labelled / "day1", labelled / "day2"
    for day in (day1, day2):
        assert lofi("csi", day / "walk", "--out", day / "csi.parquet").code == 0
        assert lofi("localize", day / "walk", "--detections", day / "detections.parquet",
                    "--out", day / "positions.parquet").code == 0  # fmt: skip
    out = tmp_path / "aligned.parquet"
    mixed_csi = ["--csi", day1 / "csi.parquet", "--positions", day2 / "positions.parquet", "--out", out]
    lofi("align", day2 / "walk", *mixed_csi).refused(str(day1 / "csi.parquet"), "another csi.csv", "lofi csi")
    mixed_positions = ["--csi", day2 / "csi.parquet", "--positions", day1 / "positions.parquet", "--out", out]
    lofi("align", day2 / "walk", *mixed_positions).refused(
        str(day1 / "positions.parquet"), "another frames.csv"
    )
    assert not out.exists() and not out.with_suffix(".json").exists()
    own = ["--csi", day2 / "csi.parquet", "--positions", day2 / "positions.parquet", "--out", out]
    assert lofi("align", day2 / "walk", *own).code == 0


def test_a_foot_offset_fitted_for_another_detector_is_refused(lofi, labelled, tmp_path):
    session = labelled / "day1" / "walk"
    args = ["--detections", labelled / "day1" / "detections.parquet", "--out", tmp_path / "p.parquet"]
    fitted = tmp_path / "foot_offset.json"
    offset = {"foot_offset_m": 0.2, "foot_point": "bottom_middle", "detector": "yolo", "fitted_on": ["x"],
              "refined_bottom": True}  # fmt: skip
    fitted.write_text(json.dumps(offset))
    lofi("localize", session, *args, "--foot-offset-from", fitted).refused(
        str(fitted), "fitted on yolo boxes", "come from bgsub"
    )
    assert not (tmp_path / "p.parquet").exists()
