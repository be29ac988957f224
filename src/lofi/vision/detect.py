"""Run a detector over a session's video: one row per frame with the kept person box."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from lofi.io.session import VideoFrames
from lofi.vision.detectors import Detector, select_person


@dataclass
class DetectRun:
    """The detections table and how long detection took."""

    table: pd.DataFrame
    seconds: float
    corrupt_frames: int


def detect_frames(
    frames: VideoFrames, t_host: np.ndarray, detector: Detector, progress: bool = True, label: str = ""
) -> DetectRun:
    """Detect the person in every frame (eq. 1); corrupt frames get reason ``corrupt_frame``."""
    good: list[int] = []

    def decoded() -> Iterator[np.ndarray]:
        for i, image in enumerate(
            tqdm(
                frames,
                desc=f"detect {label}".strip(),
                unit="frame",
                disable=not progress or None,
                leave=False,
            )
        ):
            if image is not None:
                good.append(i)
                yield image

    n = len(frames)
    boxes = np.full((n, 4), np.nan)
    scores = np.full(n, np.nan)
    candidates = np.zeros(n, dtype=np.int64)
    start = time.perf_counter()
    for k, detections in enumerate(detector.detect(decoded())):
        i = good[k]
        candidates[i] = len(detections)
        kept = select_person(detections)
        if kept is not None:
            boxes[i], scores[i] = kept
    seconds = time.perf_counter() - start
    reason = np.full(n, "", dtype=object)
    reason[np.setdiff1d(np.arange(n), good)] = "corrupt_frame"
    table = pd.DataFrame(
        {
            "frame": np.arange(n),
            "t_host": t_host,
            "x0": boxes[:, 0],
            "y0": boxes[:, 1],
            "x1": boxes[:, 2],
            "y1": boxes[:, 3],
            "confidence": scores,
            "class": np.where(np.isnan(scores), "", "person"),
            "detector": detector.name,
            "n_candidates": candidates,
            "reason": reason.astype(str),
        }
    )
    return DetectRun(table, seconds, frames.corrupt)
