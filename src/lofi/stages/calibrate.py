"""Stage ``calibrate``: ``calibration.yaml`` from floor anchors, and an optional preview image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lofi.io.atomic import atomic_open
from lofi.io.session import write_yaml
from lofi.vision.calibration import Calibration, calibration_from_dict
from lofi.vision.overlay import draw_calibration


@dataclass(frozen=True)
class CalibrationInput:
    """Anchors ``[u, v, x, y]`` (px, px, m, m), image size (px), intrinsics ``fx, fy, cx, cy`` (px),
    plumb-bob distortion and the floor region's size ``(w, d)`` in m."""

    anchors: list[list[float]]
    region_m: tuple[float, float]
    image_size: tuple[int, int] | None = None
    intrinsics: tuple[float, float, float, float] | None = None
    distortion: tuple[float, ...] | None = None

    def record(self) -> dict:
        """The ``calibration.yaml`` structure."""
        data: dict = {"anchors": [{"pixel": a[:2], "floor": a[2:]} for a in self.anchors]}
        if self.image_size:
            data["image_size"] = [int(v) for v in self.image_size]
        if self.intrinsics:
            fx, fy, cx, cy = self.intrinsics
            data["intrinsics"] = {"fx": fx, "fy": fy, "cx": cx, "cy": cy}
            data["distortion"] = list(self.distortion) if self.distortion else [0.0] * 5
        data["region"] = {"x_m": [0.0, self.region_m[0]], "y_m": [0.0, self.region_m[1]]}
        return data


def run_calibrate(spec: CalibrationInput, out: Path, ransac: bool = False) -> tuple[Calibration, np.ndarray]:
    """Fit the homography and write ``out``; returns it and each anchor's reprojection error (cm)."""
    data = spec.record()
    calibration = calibration_from_dict(data, "command line", ransac=ransac)
    write_yaml(out, data)
    return calibration, calibration.reprojection_error_m() * 100


def write_preview(
    calibration: Calibration, region_m: tuple[float, float], image_or_video: Path, out: Path
) -> None:
    """Draw the anchors, the region and a 0.5 m floor grid on an image (or a video's first frame)."""
    image = cv2.imread(str(image_or_video))
    if image is None:
        capture = cv2.VideoCapture(str(image_or_video))
        ok, image = capture.read()
        capture.release()
        if not ok:
            raise OSError(f"{image_or_video}: not an image or a readable video")
    ok, png = cv2.imencode(".png", draw_calibration(image, calibration, region_m))
    with atomic_open(out, "wb") as handle:
        handle.write(png.tobytes())
