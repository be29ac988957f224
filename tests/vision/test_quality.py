"""Label-quality metrics on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lofi.vision.quality import all_frames_quality, bottom_errors_px, surveyed_points_quality


def tables():
    truth = pd.DataFrame(
        {
            "frame": np.arange(6),
            "x_m": [1.0] * 6,
            "y_m": [2.0] * 6,
            "point": [0, 0, 0, -1, 1, 1],
            "subject": ["A"] * 6,
            "box_x0": [100.0] * 6,
            "box_y0": [100.0] * 6,
            "box_x1": [140.0] * 6,
            "box_y1": [270.0] * 6,
        }
    )
    # 170 px tall = 1.7 m: 1 px = 1 cm at the person. Frame 5's box is 2 m to the right.
    detections = pd.DataFrame(
        {
            "frame": np.arange(6),
            "x0": [100.0, 100, 100, np.nan, 100, 300],
            "y0": [100.0] * 6,
            "x1": [140.0, 140, 140, np.nan, 140, 340],
            "y1": [270.0] * 6,
        }
    )
    positions = pd.DataFrame(
        {
            "frame": np.arange(6),
            "x_m": [1.1, 1.0, 0.9, np.nan, 1.0, 3.0],
            "y_m": [2.0, 2.1, 2.0, np.nan, 2.0, 2.0],
            "valid": [True, True, True, False, True, False],
            "reason": ["", "", "", "no_person", "", "outside_region"],
        }
    )
    return positions, truth, detections


def test_all_frames_metrics():
    q = all_frames_quality(*tables(), "s", "paper", "yolo", 33.0)
    assert q.frames == 6 and q.detection_rate == pytest.approx(5 / 6)
    assert q.wrong_object_rate == pytest.approx(1 / 5)  # the box 2 m to the side
    assert q.mean_cm == pytest.approx(7.5) and q.median_cm == pytest.approx(10.0)
    assert q.fps == 33.0


def test_surveyed_points_average_each_standing_period():
    q = surveyed_points_quality(*tables(), "s", "paper", "yolo", 33.0)
    # point 0: mean label (1.0, 2.0333) -> 3.33 cm; point 1: only the valid frame -> 0 cm
    assert q.frames == 2
    assert q.mean_cm == pytest.approx((100 * 0.1 / 3 + 0.0) / 2)


def test_bottom_errors_before_and_after_refinement():
    _, truth, detections = tables()
    detections = detections.assign(y1=[260.0, 280, 270, np.nan, 270, 250])
    detector_px, refined_px = bottom_errors_px(detections, truth)
    assert detector_px == pytest.approx((10 + 10 + 0 + 0 + 20) / 5) and np.isnan(refined_px)
    refined = detections.assign(foot_y=[271.0, 269, np.nan, np.nan, 270, 270])
    assert bottom_errors_px(refined, truth) == pytest.approx((8.0, 0.5))
