"""Run a detector over a session's video: one row per frame with the kept person box."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from lofi.io.session import VideoFrames, read_frames_csv
from lofi.vision.detectors import Detector, select_person
from lofi.vision.foot_refine import FootRefineOptions, FootRefiner


@dataclass
class DetectRun:
    """The detections table, how long detection took (s) and the corrupt frames skipped."""

    table: pd.DataFrame
    seconds: float
    corrupt_frames: int

    @property
    def fps(self) -> float:
        return len(self.table) / self.seconds if self.seconds > 0 else float("nan")


def detect_session(
    session: Path,
    detector: Detector,
    stride: int = 1,
    progress: bool = True,
    refine: FootRefineOptions | None = None,
) -> DetectRun:
    """Detect the person in every ``stride``-th frame of ``session/video.mp4``.

    With ``refine``, each kept box's bottom is also refined against the session's
    empty-room background (column ``foot_y``; see :mod:`lofi.vision.foot_refine`).
    """
    times = read_frames_csv(session / "frames.csv")["t_host"].to_numpy()
    frames = VideoFrames(session / "video.mp4", expected=len(times))
    refiner = None if refine is None else FootRefiner.for_video(session / "video.mp4", len(times), refine)
    return detect_frames(frames, times, detector, stride, progress, session.name, refiner)


def detect_frames(
    frames: VideoFrames,
    t_host: np.ndarray,
    detector: Detector,
    stride: int = 1,
    progress: bool = True,
    label: str = "",
    refiner: FootRefiner | None = None,
) -> DetectRun:
    """Eq. (1) on each evaluated frame; corrupt frames get reason ``corrupt_frame``.

    ``refiner`` adds the refined box bottom (``foot_y``, px); without it ``foot_y`` is NaN.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    evaluated = np.arange(0, len(frames), stride)
    good: list[int] = []
    pending: dict[int, np.ndarray] = {}  # images awaiting their detections (refinement only)

    def decoded() -> Iterator[np.ndarray]:
        bar = tqdm(
            frames,
            desc=f"{detector.name} {label}".strip(),
            unit="frame",
            disable=not progress or None,
            leave=False,
        )
        for i, image in enumerate(bar):
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
    return DetectRun(table, seconds, frames.corrupt)
