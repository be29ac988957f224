"""Stage ``calibrate``: ``calibration.yaml`` from floor anchors, and an optional preview image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lofi.io.atomic import atomic_open
from lofi.io.session import write_yaml
from lofi.vision.calibration import Calibration, calibration_from_dict, region_size
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


def run_calibrate(
    spec: CalibrationInput,
    out: Path,
    ransac: bool = False,
    preview: tuple[Path, Path] | None = None,
    source: str = "command line",
) -> tuple[Calibration, np.ndarray]:
    """Fit the homography and write ``out``; returns it and each anchor's reprojection error (cm).

    With ``preview`` (an image or video, and the PNG to write), the anchors, the region and a
    0.5 m floor grid are drawn on that frame. Everything is checked before anything is written;
    ``source`` names where the anchors came from in error messages.
    """
    data = spec.record()
    calibration = calibration_from_dict(data, source, ransac=ransac)
    region_size(data, source)
    frame = read_frame(preview[0]) if preview else None
    write_yaml(out, data)
    if preview and frame is not None:
        png = cv2.imencode(".png", draw_calibration(frame, calibration, spec.region_m))[1]
        with atomic_open(preview[1], "wb") as handle:
            handle.write(png.tobytes())
    return calibration, calibration.reprojection_error_m() * 100


def read_frame(image_or_video: Path) -> np.ndarray:
    """An image, or the first frame of a video (BGR), or a clear error."""
    image = cv2.imread(str(image_or_video))
    if image is None:
        capture = cv2.VideoCapture(str(image_or_video))
        ok, image = capture.read()
        capture.release()
        if not ok:
            raise OSError(f"{image_or_video}: not an image or a readable video")
    return image
