"""OpenCV person detectors: HOG people detector, full-body Haar cascade, background subtraction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from lofi.vision.detectors.base import PERSON, Detections


class HogDetector:
    """OpenCV's default people detector (Dalal-Triggs HOG + linear SVM)."""

    name = "hog"

    def __init__(self, win_stride: int = 8, scale: float = 1.05) -> None:
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.win_stride, self.scale = win_stride, scale

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]:
        for frame in frames:
            rects, weights = self.hog.detectMultiScale(
                frame, winStride=(self.win_stride, self.win_stride), padding=(8, 8), scale=self.scale
            )
            yield _from_rects(rects, np.ravel(weights) if len(rects) else np.zeros(0))


class HaarDetector:
    """OpenCV's full-body Haar cascade (``haarcascade_fullbody.xml``)."""

    name = "haar"

    def __init__(self, scale: float = 1.05, min_neighbors: int = 3) -> None:
        path = Path(cv2.data.haarcascades) / "haarcascade_fullbody.xml"
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise OSError(f"{path}: cannot load OpenCV's full-body cascade")
        self.scale, self.min_neighbors = scale, min_neighbors

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]:
        for frame in frames:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            rects, _, weights = self.cascade.detectMultiScale3(
                gray,
                scaleFactor=self.scale,
                minNeighbors=self.min_neighbors,
                minSize=(24, 48),
                outputRejectLevels=True,
            )
            yield _from_rects(rects, np.ravel(weights) if len(rects) else np.zeros(0))


class BackgroundSubtractionDetector:
    """Foreground blobs from MOG2/KNN background subtraction; the largest blob is the person.

    Stateful: it learns the background from the frames it sees, so it must see a
    video in order. The first ``warmup`` frames give no box.
    """

    name = "bgsub"

    def __init__(self, method: str = "mog2", warmup: int = 30, min_area_px: int = 600) -> None:
        if method not in ("mog2", "knn"):
            raise ValueError(f"bgsub method must be 'mog2' or 'knn', not {method!r}")
        self.method, self.warmup, self.min_area = method, warmup, min_area_px

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]:
        model = (
            cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=25, detectShadows=True)
            if self.method == "mog2"
            else cv2.createBackgroundSubtractorKNN(history=500, detectShadows=True)
        )
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        for i, frame in enumerate(frames):
            mask = model.apply(frame)
            if i < self.warmup:
                yield Detections.empty()
                continue
            mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)[1]  # drop shadows (127)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            blobs = [s for s in stats[1:n] if s[cv2.CC_STAT_AREA] >= self.min_area]
            if not blobs:
                yield Detections.empty()
                continue
            rects = np.array([s[:4] for s in blobs])
            areas = np.array([s[cv2.CC_STAT_AREA] for s in blobs], dtype=np.float64)
            yield _from_rects(rects, areas / areas.sum())


def _from_rects(rects: np.ndarray, scores: np.ndarray) -> Detections:
    """OpenCV (x, y, w, h) rectangles -> person detections."""
    if len(rects) == 0:
        return Detections.empty()
    rects = np.asarray(rects, dtype=np.float64)
    boxes = np.c_[rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2], rects[:, 1] + rects[:, 3]]
    return Detections(boxes, np.asarray(scores, dtype=np.float64), (PERSON,) * len(rects))
