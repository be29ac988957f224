"""Pictures for checking labels by eye: calibration grid, boxes, error maps."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from lofi.vision.calibration import Calibration

GRID_M = 0.5


def draw_calibration(
    image: np.ndarray, calibration: Calibration, region_m: tuple[float, float]
) -> np.ndarray:
    """Anchors (red), the region outline (green) and a 0.5 m floor grid (white) on a frame."""
    out = image.copy()
    w, d = region_m
    for x in np.arange(0.0, w + 1e-9, GRID_M):
        _polyline(out, calibration, np.c_[np.full(50, x), np.linspace(0, d, 50)], (255, 255, 255), 1)
    for y in np.arange(0.0, d + 1e-9, GRID_M):
        _polyline(out, calibration, np.c_[np.linspace(0, w, 50), np.full(50, y)], (255, 255, 255), 1)
    outline = np.array([[0, 0], [w, 0], [w, d], [0, d], [0, 0]], dtype=np.float64)
    dense = np.concatenate([np.linspace(a, b, 30) for a, b in itertools.pairwise(outline)])
    _polyline(out, calibration, dense, (60, 200, 60), 2)
    for k, (u, v) in enumerate(calibration.pixels):
        cv2.circle(out, (round(u), round(v)), 6, (40, 40, 230), 2, cv2.LINE_AA)
        cv2.putText(
            out,
            str(k),
            (int(u) + 8, int(v) - 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (40, 40, 230),
            2,
            cv2.LINE_AA,
        )
    return out


def _polyline(
    image: np.ndarray, calibration: Calibration, floor: np.ndarray, color: tuple, thickness: int
) -> None:
    pixels = calibration.to_pixels(floor)
    ok = np.all(np.isfinite(pixels), axis=1) & (np.abs(pixels) < 1e5).all(axis=1)
    if ok.sum() >= 2:
        cv2.polylines(image, [np.round(pixels[ok]).astype(np.int32)], False, color, thickness, cv2.LINE_AA)
