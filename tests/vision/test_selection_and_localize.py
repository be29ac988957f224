"""Eq. (1) selection, foot points, floor positions and their flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lofi.vision.calibration import Calibration
from lofi.vision.detectors import Detections, select_person
from lofi.vision.localize import fit_foot_offset, foot_pixels, localize


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
