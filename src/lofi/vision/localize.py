"""Foot point (paper eq. 3 input), floor positions and their validity.

Two foot-point models (``foot_point``):

- ``bottom_middle`` (the paper's eq. 3): the bottom-middle of the kept box;
- ``upright``: the person stands vertically, so in the image their axis runs
  through the vertical vanishing point, not straight up. A person off the image
  centre appears tilted and the box middle is not above the feet; the foot point
  is where the axis through the box centre meets the box's bottom row (needs the
  camera intrinsics, see :meth:`Calibration.camera_pose`).

Either way the bottom row is the nearest edge of the feet, not the body's centre
on the floor, so labels sit toward the camera; ``foot_offset_m`` moves each label
that far away from the camera (along the image's upward direction for
``bottom_middle``, along the ray from the camera's floor point for ``upright``).
The offset is fitted on sessions of other people by ``lofi fit-foot-offset``.

The bottom row is the detector's box bottom, or, where the detect stage refined
it against the empty room (``foot_y``, :mod:`lofi.vision.foot_refine`), that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lofi.vision.calibration import Calibration
from lofi.vision.choices import FOOT_POINTS

MAX_SPEED_MPS = 3.0
MIN_JUMP_M = 0.3  # at 30 Hz, 3 m/s is only 10 cm a frame: label noise alone would pass that
REGION_SLACK_M = 0.3


def foot_pixels(boxes: np.ndarray) -> np.ndarray:
    """Bottom-middle of xyxy boxes (N x 2, NaN rows stay NaN)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]]


def upright_foot_pixels(boxes: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Where an upright person's axis meets the bottom row of xyxy boxes (N x 2 pixels).

    The axis is the image line through the box centre and the vertical vanishing
    point; both are taken in ideal (undistorted) pixels and the result is
    distorted back, so it is comparable with :func:`foot_pixels`. NaN rows stay NaN.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.full((len(boxes), 2), np.nan)
    ok = np.all(np.isfinite(boxes), axis=1)
    if not ok.any():
        return out
    lens = calibration.lens
    vp = calibration.camera_pose().vertical_vanishing_point
    bottom = foot_pixels(boxes[ok])
    centre = np.c_[bottom[:, 0], (boxes[ok, 1] + boxes[ok, 3]) / 2]
    if lens is not None:
        bottom, centre = lens.undistort(bottom), lens.undistort(centre)
    # Axis through the centre and the (homogeneous) vanishing point: a*u + b*v + c = 0.
    axis = np.cross(np.c_[centre, np.ones(len(centre))], vp)
    u = -(axis[:, 1] * bottom[:, 1] + axis[:, 2]) / axis[:, 0]
    feet = np.c_[u, bottom[:, 1]]
    out[ok] = lens.distort(feet) if lens is not None else feet
    return out


def away_from_camera(calibration: Calibration, pixels: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Unit floor directions pointing away from the camera at each foot point.

    Moving up in the image from a floor point moves away from the camera, so the
    direction is the floor image of a short upward step in pixels.
    """
    ahead = calibration.to_floor(pixels - np.array([0.0, 10.0]))
    step = ahead - floor
    norm = np.linalg.norm(step, axis=1, keepdims=True)
    return np.divide(step, norm, out=np.zeros_like(step), where=norm > 0)


def away_from_nadir(calibration: Calibration, floor: np.ndarray) -> np.ndarray:
    """Unit floor directions from the camera's floor point (below the camera) to each floor point."""
    step = np.asarray(floor, np.float64).reshape(-1, 2) - calibration.camera_pose().nadir
    norm = np.linalg.norm(step, axis=1, keepdims=True)
    return np.divide(step, norm, out=np.zeros_like(step), where=norm > 0)


def _check_foot_point(foot_point: str) -> None:
    if foot_point not in FOOT_POINTS:
        raise ValueError(f"unknown foot point {foot_point!r}; choose {' or '.join(FOOT_POINTS)}")


def foot_floor(
    boxes: np.ndarray, calibration: Calibration, foot_point: str = "bottom_middle"
) -> tuple[np.ndarray, np.ndarray]:
    """Foot pixels and their floor points (eq. 3) under the ``foot_point`` model."""
    _check_foot_point(foot_point)
    feet = upright_foot_pixels(boxes, calibration) if foot_point == "upright" else foot_pixels(boxes)
    return feet, calibration.to_floor(feet)


def away_directions(
    calibration: Calibration, feet: np.ndarray, floor: np.ndarray, foot_point: str = "bottom_middle"
) -> np.ndarray:
    """The away-from-camera unit directions that ``foot_offset_m`` uses for ``foot_point``."""
    _check_foot_point(foot_point)
    if foot_point == "upright":
        return away_from_nadir(calibration, floor)
    return away_from_camera(calibration, feet, floor)


def detection_boxes(detections: pd.DataFrame, refined_bottom: bool = True) -> np.ndarray:
    """The kept boxes (N x 4, xyxy px); with ``refined_bottom``, the bottom is ``foot_y``
    wherever the detect stage refined it (tables without ``foot_y`` keep ``y1``)."""
    boxes = detections[["x0", "y0", "x1", "y1"]].to_numpy(np.float64, copy=True)
    if refined_bottom and "foot_y" in detections:
        foot_y = detections["foot_y"].to_numpy(np.float64)
        boxes[:, 3] = np.where(np.isfinite(foot_y), foot_y, boxes[:, 3])
    return boxes


def localize(
    detections: pd.DataFrame,
    calibration: Calibration,
    region_m: tuple[float, float] | None = None,
    foot_offset_m: float = 0.0,
    max_speed_mps: float = MAX_SPEED_MPS,
    foot_point: str = "bottom_middle",
    refined_bottom: bool = True,
) -> pd.DataFrame:
    """Floor positions for a detections table (see ``lofi.io.schema.POSITIONS_COLUMNS``).

    ``foot_point`` picks the foot-point model (see the module docstring) and
    ``foot_offset_m`` moves each label that far away from the camera.
    ``refined_bottom`` uses the refined box bottom (``foot_y``) where there is one.
    """
    boxes = detection_boxes(detections, refined_bottom)
    feet, floor = foot_floor(boxes, calibration, foot_point)
    if foot_offset_m:
        floor = floor + foot_offset_m * away_directions(calibration, feet, floor, foot_point)
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
    """Mark isolated spikes: steps into and out of a frame both faster than ``max_speed``
    and longer than :data:`MIN_JUMP_M` (so a few centimetres of label noise between
    frames 33 ms apart is not a jump)."""
    reason = reason.copy()
    ok = np.flatnonzero(reason == "")
    if len(ok) < 3:
        return reason
    dt = np.maximum(np.diff(t[ok]), 1e-3)
    step = np.linalg.norm(np.diff(xy[ok], axis=0), axis=1)
    big = (step / dt > max_speed) & (step > MIN_JUMP_M)
    spike = big[:-1] & big[1:]
    reason[ok[1:-1][spike]] = "jump"
    return reason


def fit_foot_offset(
    positions: pd.DataFrame,
    truth_xy: np.ndarray,
    calibration: Calibration,
    foot_point: str = "bottom_middle",
) -> np.ndarray:
    """Signed label errors (m) along the away-from-camera direction, per frame.

    ``positions`` must be uncorrected labels (``foot_offset_m`` 0) of the same
    ``foot_point`` model. Their median over sessions with known truth (the
    detector-training sessions, never the evaluated ones) is the foot-point
    correction to apply.
    """
    feet = positions[["foot_u", "foot_v"]].to_numpy(np.float64)
    floor = positions[["x_m", "y_m"]].to_numpy(np.float64)
    away = away_directions(calibration, feet, floor, foot_point)
    along = np.sum((np.asarray(truth_xy, np.float64) - floor) * away, axis=1)
    return np.where(positions["valid"].to_numpy(), along, np.nan)
