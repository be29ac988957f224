"""Foot point (paper eq. 3 input), floor positions and their validity.

The default foot point is the bottom-middle of the kept box. Under perspective
that point is the nearest edge of the feet, not the body's centre on the floor, so
labels sit a few centimetres toward the camera; ``foot_offset_m`` moves each
label that far away from the camera along the viewing direction (measured on
synthetic truth by ``lofi label-quality``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lofi.vision.calibration import Calibration

MAX_SPEED_MPS = 3.0
REGION_SLACK_M = 0.3


def foot_pixels(boxes: np.ndarray) -> np.ndarray:
    """Bottom-middle of xyxy boxes (N x 2, NaN rows stay NaN)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]]


def away_from_camera(calibration: Calibration, pixels: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Unit floor directions pointing away from the camera at each foot point.

    Moving up in the image from a floor point moves away from the camera, so the
    direction is the floor image of a short upward step in pixels.
    """
    ahead = calibration.to_floor(pixels - np.array([0.0, 10.0]))
    step = ahead - floor
    norm = np.linalg.norm(step, axis=1, keepdims=True)
    return np.divide(step, norm, out=np.zeros_like(step), where=norm > 0)


def localize(
    detections: pd.DataFrame,
    calibration: Calibration,
    region_m: tuple[float, float] | None = None,
    foot_offset_m: float = 0.0,
    max_speed_mps: float = MAX_SPEED_MPS,
) -> pd.DataFrame:
    """Floor positions for a detections table (see ``lofi.io.schema.POSITIONS_COLUMNS``)."""
    boxes = detections[["x0", "y0", "x1", "y1"]].to_numpy(np.float64)
    feet = foot_pixels(boxes)
    floor = calibration.to_floor(feet)
    if foot_offset_m:
        floor = floor + foot_offset_m * away_from_camera(calibration, feet, floor)
    reason = np.where(np.isnan(boxes[:, 0]), "no_person", "")
    reason = np.where(
        detections["reason"].fillna("").to_numpy() != "", detections["reason"].fillna(""), reason
    )
    if region_m is not None:
        w, d = region_m
        outside = (floor[:, 0] < -REGION_SLACK_M) | (floor[:, 0] > w + REGION_SLACK_M)
        outside |= (floor[:, 1] < -REGION_SLACK_M) | (floor[:, 1] > d + REGION_SLACK_M)
        reason = np.where((reason == "") & outside, "outside_region", reason)
    reason = _flag_jumps(detections["t_host"].to_numpy(), floor, reason, max_speed_mps)
    return pd.DataFrame(
        {
            "frame": detections["frame"].to_numpy(),
            "t_host": detections["t_host"].to_numpy(),
            "foot_u": feet[:, 0],
            "foot_v": feet[:, 1],
            "x_m": floor[:, 0],
            "y_m": floor[:, 1],
            "valid": reason == "",
            "reason": reason,
        }
    )


def _flag_jumps(t: np.ndarray, xy: np.ndarray, reason: np.ndarray, max_speed: float) -> np.ndarray:
    """Mark isolated spikes: faster than ``max_speed`` both into and out of a frame."""
    reason = reason.copy()
    ok = np.flatnonzero(reason == "")
    if len(ok) < 3:
        return reason
    dt = np.maximum(np.diff(t[ok]), 1e-3)
    speed = np.linalg.norm(np.diff(xy[ok], axis=0), axis=1) / dt
    spike = (speed[:-1] > max_speed) & (speed[1:] > max_speed)
    reason[ok[1:-1][spike]] = "jump"
    return reason


def fit_foot_offset(positions: pd.DataFrame, truth_xy: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Signed label errors (m) along the away-from-camera direction, per frame.

    Their median over sessions with known truth (the detector-training sessions,
    never the evaluated ones) is the foot-point correction to apply.
    """
    feet = positions[["foot_u", "foot_v"]].to_numpy(np.float64)
    floor = positions[["x_m", "y_m"]].to_numpy(np.float64)
    away = away_from_camera(calibration, feet, floor)
    along = np.sum((np.asarray(truth_xy, np.float64) - floor) * away, axis=1)
    return np.where(positions["valid"].to_numpy(), along, np.nan)
