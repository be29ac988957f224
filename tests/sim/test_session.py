"""Simulated sessions: files, round trip through the reader, truth, calibration, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lofi.io.video import read_video_frames
from lofi.sim.camera import CameraModel
from lofi.sim.session import SessionSpec
from lofi.stages.inspect import inspect_path
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import simulate_session

SCENE = load_scene("lab")
WALK = SessionSpec("walk_S3", ("S3",), "corner", "walk", duration_s=8.0, seed=5)


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sessions") / "walk"
    simulate_session(SCENE, WALK, out, progress=False)
    return out


def test_session_has_the_raw_format(walk):
    for name in ("session.yaml", "csi.csv", "video.mp4", "frames.csv", "calibration.yaml"):
        assert (walk / name).is_file(), name
    meta = yaml.safe_load((walk / "session.yaml").read_text())
    assert meta["csi_rate_hz"] == 100.0 and meta["csv_layout"] == "esp-radar" and meta["subjects"] == ["S3"]
    frames = pd.read_csv(walk / "frames.csv")
    assert list(frames.columns) == ["frame", "t_host"] and frames["t_host"].is_monotonic_increasing
    assert len(read_video_frames(walk / "video.mp4")) == len(frames)


def test_inspect_reads_every_row_and_reports_the_true_loss(walk):
    summary = inspect_path(walk)
    pings = pd.read_parquet(walk / "truth" / "pings.parquet")
    logged = np.flatnonzero(~pings["lost"].to_numpy())
    assert summary["skipped"] == 0 and summary["rows"] == len(logged)
    lost_between = logged[-1] - logged[0] + 1 - len(logged)
    assert summary["lost_packets"] == lost_between
    assert summary["loss_pct"] == pytest.approx(100 * lost_between / (logged[-1] - logged[0] + 1), abs=1e-3)


def test_truth_positions_stay_in_the_region_and_boxes_hold_the_person(walk):
    truth = pd.read_parquet(walk / "truth" / "frames.parquet")
    assert truth["x_m"].between(0, 1.8).all() and truth["y_m"].between(0, 4.8).all()
    assert truth["visible"].mean() > 0.95
    seen = truth[truth["visible"]]
    height = seen["box_y1"] - seen["box_y0"]
    assert (height > 60).all() and ((seen["box_x1"] - seen["box_x0"]) < height).all()
    # The true floor point projects near the bottom of the box, between its sides.
    assert (seen["foot_v"] - seen["box_y1"]).abs().median() < 15
    assert ((seen["foot_u"] > seen["box_x0"] - 10) & (seen["foot_u"] < seen["box_x1"] + 10)).mean() > 0.95


def test_calibration_anchors_are_clicked_within_3_px(walk):
    calib = yaml.safe_load((walk / "calibration.yaml").read_text())
    model = CameraModel.from_scene(SCENE.camera("corner"))
    k = calib["intrinsics"]
    model = CameraModel(
        np.array([[k["fx"], 0, k["cx"]], [0, k["fy"], k["cy"]], [0, 0, 1]]),
        np.array(calib["distortion"]),
        model.R,
        model.C,
        model.size_px,
    )
    floor = np.array([a["floor"] for a in calib["anchors"]])
    clicked = np.array([a["pixel"] for a in calib["anchors"]])
    exact = model.project(np.c_[SCENE.region.to_room(floor), np.zeros(4)])
    error = np.abs(clicked - exact)
    assert len(floor) == 4 and error.max() <= 3.0 + 1e-6 and error.max() > 0


def test_same_inputs_give_identical_files_and_frames(walk, tmp_path):
    again = tmp_path / "again"
    simulate_session(SCENE, WALK, again, progress=False)
    for name in ("csi.csv", "frames.csv", "calibration.yaml", "session.yaml"):
        assert (walk / name).read_bytes() == (again / name).read_bytes(), name
    for name in ("frames.parquet", "pings.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(walk / "truth" / name), pd.read_parquet(again / "truth" / name)
        )
    first, second = (
        read_video_frames(walk / "video.mp4", [0, 50]),
        read_video_frames(again / "video.mp4", [0, 50]),
    )
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_another_seed_gives_another_session(walk, tmp_path):
    other = tmp_path / "other"
    simulate_session(
        SCENE, SessionSpec("walk_S3", ("S3",), "corner", "walk", duration_s=8.0, seed=6), other, False
    )
    assert (walk / "csi.csv").read_bytes() != (other / "csi.csv").read_bytes()


def test_survey_session_visits_the_10_points_with_both_subjects(tmp_path):
    spec = SessionSpec("survey", ("S1", "S2"), "side", "survey", stand_s=0.5, seed=1)
    simulate_session(SCENE, spec, tmp_path / "survey", progress=False)
    truth = pd.read_parquet(tmp_path / "survey" / "truth" / "frames.parquet")
    standing = truth[truth["point"] >= 0]
    assert {(s, p) for s, p in zip(standing["subject"], standing["point"], strict=True)} == {
        (s, p) for s in ("S1", "S2") for p in range(10)
    }
    spread = standing.groupby(["subject", "point"])[["x_m", "y_m"]].std().max().max()
    assert spread < 0.02  # people stand still at a point


def test_bad_specs_are_rejected():
    with pytest.raises(ValueError, match="exactly one subject"):
        SessionSpec("x", ("S1", "S2"), "paper", "walk")
    with pytest.raises(ValueError, match="mode"):
        SessionSpec("x", ("S1",), "paper", "run")


def test_outfit_changes_recolour_clothes_only_and_keep_the_csi(tmp_path):
    from lofi.sim.session import _outfits

    scene = load_scene("lab")
    spec = SessionSpec("o", ("D1",), "paper", "walk", 3.0, outfit_change_s=1.0)
    subject = scene.subject("D1")
    t = np.arange(0, 3, 0.1)
    dressed = _outfits(spec, [subject], np.zeros(len(t), dtype=int), t)
    outfits = {(s.shirt, s.trousers) for s in dressed}
    assert len(outfits) == 3  # one per second
    assert {(s.height_m, s.skin) for s in dressed} == {(subject.height_m, subject.skin)}
    assert _outfits(spec, [subject], np.zeros(len(t), dtype=int), t) == dressed  # seeded
    plain = SessionSpec("o", ("D1",), "paper", "walk", 3.0)
    simulate_session(scene, spec, tmp_path / "a", progress=False)
    simulate_session(scene, plain, tmp_path / "b", progress=False)
    assert (tmp_path / "a" / "csi.csv").read_bytes() == (tmp_path / "b" / "csi.csv").read_bytes()
    with pytest.raises(ValueError, match="outfit_change_s"):
        SessionSpec("o", ("D1",), "paper", "walk", 3.0, outfit_change_s=0)
