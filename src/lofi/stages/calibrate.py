"""Stage ``calibrate``: ``calibration.yaml`` from floor anchors, and an optional preview image."""

from __future__ import annotations

from dataclasses import dataclass, field
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


def grab_frame(camera: str) -> np.ndarray:
    """One frame (BGR) of ``camera``: a device index, a video file or a stream URL.

    Raises:
        OSError: the camera does not open or delivers no frame (naming it).
    """
    from lofi.stages.record_devices import open_camera

    capture, _, _ = open_camera(camera)
    try:
        ok, image = capture.read()
    finally:
        capture.release()
    if not ok or image is None:
        raise OSError(f"--live {camera}: the camera delivered no frame")
    return image


def write_frame(frame: np.ndarray, path: Path) -> Path:
    """``frame`` as a PNG at ``path`` (atomically): the picture the anchors' pixels refer to."""
    ok, png = cv2.imencode(".png", frame)
    if not ok:
        raise OSError(f"{path}: cannot encode the frame as PNG")
    with atomic_open(path, "wb") as handle:
        handle.write(png.tobytes())
    return path


@dataclass
class AnchorClicks:
    """Pixels clicked on a frame (left button adds one, right removes the last), drawn as numbered dots."""

    frame: np.ndarray
    pixels: list[tuple[int, int]] = field(default_factory=list)

    def on_mouse(self, event: int, u: int, v: int, flags: int = 0, param: object = None) -> None:
        """OpenCV's mouse callback."""
        if event == cv2.EVENT_LBUTTONDOWN:
            self.pixels.append((int(u), int(v)))
        elif event == cv2.EVENT_RBUTTONDOWN and self.pixels:
            self.pixels.pop()

    def drawn(self) -> np.ndarray:
        """The frame with the clicked pixels, numbered from 1."""
        image = self.frame.copy()
        for k, (u, v) in enumerate(self.pixels, start=1):
            cv2.circle(image, (u, v), 5, (0, 0, 255), -1)
            cv2.putText(image, str(k), (u + 7, v - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2)
        return image


def click_anchors(frame: np.ndarray, title: str = "lofi calibrate: click 4+ floor marks, Enter ends") -> list:
    """Pixels the user clicks on ``frame`` in an OpenCV window (Enter or Esc ends; needs a display)."""
    clicks = AnchorClicks(frame)
    cv2.namedWindow(title)
    cv2.setMouseCallback(title, clicks.on_mouse)
    try:
        while True:
            cv2.imshow(title, clicks.drawn())
            if cv2.waitKey(30) & 0xFF in (13, 10, 27):
                return clicks.pixels
    finally:
        cv2.destroyWindow(title)
