"""Run a detector over a video's frames: one row per evaluated frame with the kept person box."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lofi.vision.detectors.base import Detector, select_person
from lofi.vision.foot_refine import FootRefiner


@dataclass
class DetectRun:
    """The detections table, how long detection took (s) and the corrupt frames skipped."""

    table: pd.DataFrame
    seconds: float
    corrupt_frames: int = 0

    @property
    def fps(self) -> float:
        return len(self.table) / self.seconds if self.seconds > 0 else float("nan")


def detect_frames(
    frames: Iterable[np.ndarray | None],
    t_host: np.ndarray,
    detector: Detector,
    stride: int = 1,
    refiner: FootRefiner | None = None,
) -> DetectRun:
    """Eq. (1) on every ``stride``-th frame; frames that are ``None`` (corrupt) get reason ``corrupt_frame``.

    ``frames`` yields one image per row of ``t_host`` (host time, s). ``refiner``
    adds the refined box bottom (``foot_y``, px); without it ``foot_y`` is NaN.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    n_frames = len(t_host)
    evaluated = np.arange(0, n_frames, stride)
    good: list[int] = []
    pending: dict[int, np.ndarray] = {}  # images awaiting their detections (refinement only)
    corrupt = 0

    def decoded() -> Iterator[np.ndarray]:
        nonlocal corrupt
        for i, image in enumerate(frames):
            corrupt += image is None
            if i % stride == 0 and image is not None:
                if refiner is not None:
                    pending[len(good)] = image
                good.append(i // stride)
                yield image

    n = len(evaluated)
    boxes, scores, foot_y = np.full((n, 4), np.nan), np.full(n, np.nan), np.full(n, np.nan)
    candidates = np.zeros(n, dtype=np.int64)
    start = time.perf_counter()
    for k, detections in enumerate(detector.detect(decoded())):
        row = good[k]
        candidates[row] = len(detections)
        kept = select_person(detections)
        image = pending.pop(k, None)
        if kept is not None:
            boxes[row], scores[row] = kept
            if image is not None:
                foot_y[row] = refiner.bottom(image, boxes[row])
    seconds = time.perf_counter() - start
    reason = np.full(n, "", dtype=object)
    reason[np.setdiff1d(np.arange(n), good)] = "corrupt_frame"
    table = pd.DataFrame(
        {
            "frame": evaluated,
            "t_host": np.asarray(t_host)[evaluated],
            "x0": boxes[:, 0],
            "y0": boxes[:, 1],
            "x1": boxes[:, 2],
            "y1": boxes[:, 3],
            "foot_y": foot_y,
            "confidence": scores,
            "detector": detector.name,
            "n_candidates": candidates,
            "reason": reason.astype(str),
        }
    )
    return DetectRun(table, seconds, corrupt)
