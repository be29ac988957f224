"""Person detectors behind one interface (:class:`lofi.vision.detectors.base.Detector`).

- ``yolo``: ultralytics YOLO (:mod:`.yolo`; offline, see :mod:`.offline`);
- ``hog``, ``haar``, ``bgsub``: OpenCV's HOG people detector, full-body Haar cascade and
  background subtraction (:mod:`.opencv`).

Every detector returns *all* candidate boxes of a frame with class and confidence;
:func:`lofi.vision.detectors.base.select_person` keeps the most confident person (eq. 1).
This module imports no detector until one is made, so importing it is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lofi.vision.choices import DETECTORS

if TYPE_CHECKING:
    from lofi.vision.detectors.base import Detector


def make_detector(name: str, **options: object) -> Detector:
    """A detector by name (one of :data:`lofi.vision.choices.DETECTORS`) with its options."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose {', '.join(DETECTORS)}")
    if name == "yolo":
        from lofi.vision.detectors.yolo import YoloDetector

        return YoloDetector(**options)  # type: ignore[arg-type]
    from lofi.vision.detectors import opencv

    factories = {
        "hog": opencv.HogDetector,
        "haar": opencv.HaarDetector,
        "bgsub": opencv.BackgroundSubtractionDetector,
    }
    return factories[name](**options)  # type: ignore[arg-type]
