"""Eq. (1) selection, foot points, floor positions and their flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lofi.sim.camera import CameraModel
from lofi.stages.scenes import load_scene
from lofi.vision.calibration import Calibration, CalibrationError, Lens
from lofi.vision.detectors.base import Detections, select_person
from lofi.vision.localize import (
    away_from_camera,
    away_from_nadir,
    fit_foot_offset,
    foot_pixels,
    localize,
    upright_foot_pixels,
)

SCENE = load_scene("lab")


def test_eq1_keeps_the_most_confident_person_only():
    dets = Detections(
        np.array([[0, 0, 10, 10], [5, 5, 20, 40], [1, 1, 30, 90], [2, 2, 8, 8]], float),
        np.array([0.99, 0.6, 0.8, 0.95]),
        ("chair", "person", "person", "dog"),
    )
    box, score = select_person(dets)
    assert score == 0.8 and list(box) == [1, 1, 30, 90]


def test_eq1_without_a_person_gives_none_not_a_crash():
    assert select_person(Detections.empty()) is None
    assert select_person(Detections(np.array([[0, 0, 1, 1]], float), np.array([0.9]), ("tv",))) is None


def unit_calibration() -> Calibration:
    # 100 px = 1 m, image v grows along floor y.
    return Calibration(
        np.array([[0, 0], [100, 0], [100, 400], [0, 400]], float),
        np.array([[0, 0], [1, 0], [1, 4], [0, 4]], float),
    )


def detections(boxes: list, t: list) -> pd.DataFrame:
    boxes = np.array(boxes, float)
    return pd.DataFrame(
        {
            "frame": np.arange(len(boxes)),
            "t_host": t,
            "x0": boxes[:, 0],
            "y0": boxes[:, 1],
            "x1": boxes[:, 2],
            "y1": boxes[:, 3],
            "reason": "",
        }
    )


def test_foot_point_is_bottom_middle():
    assert foot_pixels(np.array([[10, 20, 30, 120]]))[0].tolist() == [20, 120]


def test_localize_flags_missing_people_jumps_and_outsiders_without_dropping_them():
    nan = [np.nan] * 4
    boxes = [
        [40, 0, 60, 100],
        nan,
        [40, 0, 60, 110],
        [40, 0, 60, 300],
        [40, 0, 60, 120],
        [40, 0, 60, 130],
        [900, 0, 920, 100],
    ]
    pos = localize(
        detections(boxes, [0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24]), unit_calibration(), region_m=(1.0, 4.0)
    )
    assert list(pos["reason"]) == ["", "no_person", "", "jump", "", "", "outside_region"]
    assert np.isnan(pos.loc[1, "x_m"]) and pos.loc[3, "y_m"] == 3.0  # flagged, not changed
    assert np.allclose(pos.loc[0, ["x_m", "y_m"]].to_numpy(float), [0.5, 1.0])


def test_label_noise_between_frames_is_not_a_jump():
    # 15 cm of flicker 33 ms apart is 4.5 m/s, but far below a real wrong-object spike
    boxes = [[40, 0, 60, 100], [40, 0, 60, 115], [40, 0, 60, 100], [40, 0, 60, 160], [40, 0, 60, 100]]
    pos = localize(detections(boxes, [0.0, 0.033, 0.066, 0.1, 0.133]), unit_calibration())
    assert list(pos["reason"]) == ["", "", "", "jump", ""]


def test_localize_uses_refined_bottoms_where_there_are_some():
    table = detections([[40, 0, 60, 100], [40, 0, 60, 100]], [0.0, 0.033]).assign(foot_y=[150.0, np.nan])
    refined = localize(table, unit_calibration())
    assert refined["y_m"].tolist() == [1.5, 1.0]  # the second row keeps the detector's bottom
    assert localize(table, unit_calibration(), refined_bottom=False)["y_m"].tolist() == [1.0, 1.0]
    assert table["y1"].tolist() == [100.0, 100.0]  # the table itself is not changed


def test_foot_offset_moves_labels_away_from_the_camera():
    pos = localize(detections([[40, 0, 60, 100]], [0.0]), unit_calibration(), foot_offset_m=0.1)
    # Up in this image is toward smaller floor y, so "away" is -y here.
    assert np.allclose(pos.loc[0, ["x_m", "y_m"]].to_numpy(float), [0.5, 0.9])


def test_fitted_foot_offset_recovers_a_known_bias():
    # True positions lie 0.15 m farther from the camera (-y here) than the labels.
    pos = localize(
        detections([[40, 0, 60, 200], [10, 0, 30, 300], [70, 0, 90, 350]], [0.0, 1.0, 2.0]),
        unit_calibration(),
    )
    truth = pos[["x_m", "y_m"]].to_numpy() - [0.0, 0.15]
    assert np.allclose(fit_foot_offset(pos, truth, unit_calibration()), 0.15)


def scene_calibration(view: str) -> tuple[CameraModel, Calibration]:
    """The lab camera of ``view`` and its exact floor calibration (with the lens)."""
    model = CameraModel.from_scene(SCENE.camera(view))
    corners = SCENE.region.corners
    pixels = model.project(np.c_[SCENE.region.to_room(corners), np.zeros(4)])
    return model, Calibration(pixels, corners, model.size_px, Lens(model.K, model.dist))


def cylinder_box(model: CameraModel, xy: np.ndarray, radius: float, height: float = 1.7) -> list[float]:
    """Image box (xyxy) of an upright cylinder standing at floor point ``xy`` (region frame)."""
    angles = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    heights = np.linspace(0, height, 18)
    points = np.array(
        [[xy[0] + radius * np.cos(a), xy[1] + radius * np.sin(a), h] for a in angles for h in heights]
    )
    pixels = model.project(np.c_[SCENE.region.to_room(points[:, :2]), points[:, 2]])
    return [*pixels.min(axis=0), *pixels.max(axis=0)]


@pytest.mark.parametrize("view", ["paper", "side", "corner"])
def test_upright_foot_point_removes_the_off_centre_error_of_the_bottom_middle(view):
    model, calibration = scene_calibration(view)
    radius = 0.15
    points = np.array([[0.2, 0.5], [1.6, 0.5], [0.2, 4.3], [1.6, 4.3], [0.9, 2.4]])
    boxes = [cylinder_box(model, p, radius) for p in points]
    table = detections(boxes, list(10.0 * np.arange(len(points))))
    errors = {}
    for foot_point in ("bottom_middle", "upright"):
        pos = localize(table, calibration, foot_offset_m=radius, foot_point=foot_point)
        errors[foot_point] = np.linalg.norm(pos[["x_m", "y_m"]].to_numpy() - points, axis=1)
    assert errors["upright"].max() < 0.04
    assert errors["bottom_middle"].max() > 0.10
    assert pos["foot_u"].notna().all() and pos["valid"].all()


def test_upright_foot_point_of_a_centred_box_is_its_bottom_middle_and_nan_stays_nan():
    _, calibration = scene_calibration("paper")
    vp = calibration.camera_pose().vertical_vanishing_point
    u_vp = calibration.lens.distort((vp[:2] / vp[2])[None])[0, 0]
    boxes = np.array([[u_vp - 20, 100, u_vp + 20, 300], [np.nan] * 4])
    feet = upright_foot_pixels(boxes, calibration)
    assert np.allclose(feet[0], foot_pixels(boxes)[0], atol=0.5)
    assert np.isnan(feet[1]).all()


def test_upright_needs_intrinsics_and_unknown_models_are_rejected():
    table = detections([[40, 0, 60, 100]], [0.0])
    with pytest.raises(CalibrationError, match="intrinsics"):
        localize(table, unit_calibration(), foot_point="upright")
    with pytest.raises(ValueError, match="unknown foot point"):
        localize(table, unit_calibration(), foot_point="centre")


def test_away_from_nadir_points_from_below_the_camera():
    _, calibration = scene_calibration("paper")
    nadir = calibration.camera_pose().nadir
    away = away_from_nadir(calibration, np.array([[0.0, 2.0], [3.0, 0.0]]) + nadir)
    assert np.allclose(away, [[0.0, 1.0], [1.0, 0.0]], atol=1e-9)


@pytest.mark.parametrize("foot_point", ["bottom_middle", "upright"])
def test_fitted_foot_offset_recovers_a_known_bias_for_both_models(foot_point):
    model, calibration = scene_calibration("side")
    points = np.array([[0.3, 1.0], [1.2, 2.5], [0.8, 4.0]])
    boxes = [cylinder_box(model, p, 0.15) for p in points]
    pos = localize(detections(boxes, [0.0, 1.0, 2.0]), calibration, foot_point=foot_point)
    floor = pos[["x_m", "y_m"]].to_numpy()
    feet = pos[["foot_u", "foot_v"]].to_numpy()
    if foot_point == "upright":
        away = away_from_nadir(calibration, floor)
    else:
        away = away_from_camera(calibration, feet, floor)
    truth = floor + 0.2 * away
    assert np.allclose(fit_foot_offset(pos, truth, calibration, foot_point), 0.2)
