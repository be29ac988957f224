"""Label-quality metrics on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lofi.vision.quality import all_frames_quality, surveyed_points_quality


def tables():
    truth = pd.DataFrame(
        {
            "frame": np.arange(6),
            "x_m": [1.0] * 6,
            "y_m": [2.0] * 6,
            "point": [0, 0, 0, -1, 1, 1],
            "subject": ["A"] * 6,
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
    return positions, truth


def test_all_frames_metrics():
    positions, truth = tables()
    q = all_frames_quality(positions, truth, "s", "paper", "yolo", 33.0)
    assert q.frames == 6 and q.detection_rate == pytest.approx(5 / 6)
    assert q.wrong_object_rate == pytest.approx(1 / 5)  # the 2 m miss
    assert q.mean_cm == pytest.approx(7.5) and q.median_cm == pytest.approx(10.0)
    assert q.fps == 33.0


def test_surveyed_points_average_each_standing_period():
    positions, truth = tables()
    q = surveyed_points_quality(positions, truth, "s", "paper", "yolo", 33.0)
    # point 0: mean label (1.0, 2.0333) -> 3.33 cm; point 1: only the valid frame -> 0 cm
    assert q.frames == 2
    assert q.mean_cm == pytest.approx((100 * 0.1 / 3 + 0.0) / 2)
