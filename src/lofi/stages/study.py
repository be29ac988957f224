"""Scoring labels against a synthetic session's truth: shared by ``label-quality`` and ``fit-foot-offset``.

A :class:`StudySession` reads a session's view, calibration and truth once; :func:`evaluate`
detects, localizes and scores it with the metrics of :mod:`lofi.vision.quality`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lofi.io.session import TRUTH_FRAMES, read_session_meta
from lofi.io.tables import read_table
from lofi.stages.detect import DetectorChoice, detect_session
from lofi.stages.localize import session_calibration
from lofi.vision.calibration import Calibration
from lofi.vision.detect import DetectRun
from lofi.vision.foot_refine import FootRefineOptions
from lofi.vision.localize import localize
from lofi.vision.quality import Quality, all_frames_quality, surveyed_points_quality

#: Frames between evaluations for the slow OpenCV detectors (the others see every frame).
DEFAULT_STRIDE = {"hog": 5, "haar": 5, "yolo": 1, "bgsub": 1}


@dataclass(frozen=True)
class StudySession:
    """A session with truth: its folder, camera view, calibration, region (w, d in m) and truth per frame."""

    folder: Path
    view: str
    calibration: Calibration
    region: tuple[float, float] | None
    truth: pd.DataFrame

    @property
    def name(self) -> str:
        return self.folder.name

    @classmethod
    def load(cls, folder: Path) -> StudySession:
        """Read ``session.yaml``, ``calibration.yaml`` and ``truth/frames.parquet`` of ``folder``."""
        meta = read_session_meta(folder)
        calibration, region = session_calibration(folder)
        truth = read_table(folder / TRUTH_FRAMES, "truth")
        return cls(folder, meta.camera_view or "?", calibration, region, truth)

    def score(self, positions: pd.DataFrame, detections: pd.DataFrame, detector: str, fps: float) -> Quality:
        """All-frames quality of ``positions`` (and the ``detections`` they came from)."""
        return all_frames_quality(positions, self.truth, detections, self.name, self.view, detector, fps)


@dataclass
class Evaluated:
    """Scores of one detector on one session, with the frames it labelled."""

    qualities: list[Quality]
    positions: pd.DataFrame
    detections: pd.DataFrame
    run: DetectRun


def detect_for_study(
    session: StudySession,
    detector: DetectorChoice,
    progress: bool = True,
    refine: FootRefineOptions | None = None,
    stride: int | None = None,
) -> DetectRun:
    """Run ``detector`` over the session (every frame, or every 5th for HOG and Haar)."""
    step = stride or DEFAULT_STRIDE.get(detector.name, 1)
    return detect_session(session.folder, detector.make(), step, progress, refine)


def evaluate(
    session: StudySession,
    run: DetectRun,
    detector: str,
    foot_offset_m: float = 0.0,
    foot_point: str = "bottom_middle",
    refined_bottom: bool = False,
) -> Evaluated:
    """Localize a detection run and score it (all frames; surveyed points when the session has them).

    ``refined_bottom`` makes the labels use the refined box bottoms of the run.
    """
    positions = localize(
        run.table,
        session.calibration,
        session.region,
        foot_offset_m,
        foot_point=foot_point,
        refined_bottom=refined_bottom,
    )
    args = (positions, session.truth, run.table, session.name, session.view, detector, run.fps)
    qualities = [all_frames_quality(*args)]
    if (session.truth["point"] >= 0).any():
        qualities.append(surveyed_points_quality(*args))
    return Evaluated(qualities, positions, run.table, run)
