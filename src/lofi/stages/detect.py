"""Stage ``detect``: the person box in every frame of a session's video (eq. 1) -> ``detections.parquet``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lofi.io.json_report import file_sha256
from lofi.io.session import SESSION_FRAMES, SESSION_VIDEO, read_session_meta
from lofi.io.tables import write_table
from lofi.io.video import VideoFrames, read_frames_csv, read_video_frames
from lofi.vision.detect import DetectRun, detect_frames
from lofi.vision.detectors import make_detector
from lofi.vision.detectors.base import Detector
from lofi.vision.foot_refine import FootRefineOptions, FootRefiner, background_indices, median_background


@dataclass(frozen=True)
class DetectorChoice:
    """A detector by name with its options (YOLO: weights, imgsz, device)."""

    name: str
    options: dict

    def make(self) -> Detector:
        return make_detector(self.name, **self.options)


def frames_provenance(session: Path) -> dict:
    """What ties a table to ``session``'s video: its id and the SHA-256 of its ``frames.csv``."""
    return {
        "session": read_session_meta(session).id,
        "frames_csv_sha256": file_sha256(session / SESSION_FRAMES),
    }


def background_refiner(video: Path, n_frames: int, options: FootRefineOptions) -> FootRefiner:
    """A box-bottom refiner whose empty room is the median of ``options.samples`` frames of ``video``."""
    indices = background_indices(n_frames, options.samples)
    frames = [f for f in read_video_frames(video, indices) if f is not None]
    return FootRefiner(median_background(frames, len(indices), str(video)), options)


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
    times = read_frames_csv(session / SESSION_FRAMES)["t_host"].to_numpy()
    video = session / SESSION_VIDEO
    frames = VideoFrames(video, expected=len(times))
    refiner = None if refine is None else background_refiner(video, len(times), refine)
    bar = tqdm(
        frames,
        desc=f"{detector.name} {session.name}",
        unit="frame",
        disable=not progress,
        leave=False,
        # in a log (the pipeline tees it to the console): a progress line every 30 s, not every frame
        mininterval=0.1 if sys.stderr.isatty() else 30.0,
    )
    return detect_frames(bar, times, detector, stride, refiner)


@dataclass
class DetectResult:
    """What ``lofi detect`` reports: the run, where it was written, frames with a box and refined."""

    run: DetectRun
    out: Path
    found: int
    refined: int


def run_detect(
    session: Path,
    detector: DetectorChoice,
    out: Path,
    stride: int = 1,
    refine: FootRefineOptions | None = None,
    progress: bool = True,
) -> DetectResult:
    """Detect the person in ``session`` and write the detections table to ``out``."""
    provenance = frames_provenance(session)
    run = detect_session(session, detector.make(), stride, progress, refine)
    written = {"written_by": "lofi detect", "stride": stride, "detector": detector.name}
    write_table(out, run.table, {**provenance, **written})
    found = int(np.isfinite(run.table["x0"]).sum())
    refined = int(np.isfinite(run.table["foot_y"]).sum())
    return DetectResult(run, out, found, refined)
