"""The label-quality study: run detectors on sessions and score the labels against truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lofi.io.session import read_yaml
from lofi.vision.calibration import load_calibration
from lofi.vision.detect import DetectRun, detect_session
from lofi.vision.detectors import make_detector
from lofi.vision.foot_refine import FootRefineOptions
from lofi.vision.localize import localize
from lofi.vision.quality import Quality, all_frames_quality, surveyed_points_quality

#: Frames between evaluations for the slow OpenCV detectors (the others see every frame).
DEFAULT_STRIDE = {"hog": 5, "haar": 5, "yolo": 1, "bgsub": 1}


@dataclass
class Evaluated:
    """Scores of one detector on one session, with the frames it labelled."""

    qualities: list[Quality]
    positions: pd.DataFrame
    detections: pd.DataFrame
    run: DetectRun | None = None


def evaluate(
    session: Path,
    detector: str,
    options: dict | None = None,
    stride: int | None = None,
    foot_offset_m: float = 0.0,
    progress: bool = True,
    foot_point: str = "bottom_middle",
    run: DetectRun | None = None,
    refine: FootRefineOptions | None = None,
    refined_bottom: bool = False,
) -> Evaluated:
    """Detect, localize and score one session (all frames; surveyed points when present).

    ``run`` reuses the detections of an earlier evaluation of the same session and
    detector (to score another foot-point model or offset without detecting again).
    ``refine`` refines the box bottoms while detecting; ``refined_bottom`` makes the
    labels use them.
    """
    meta = read_yaml(session / "session.yaml")
    calibration_file = session / "calibration.yaml"
    calibration, region = load_calibration(read_yaml(calibration_file), str(calibration_file))
    if run is None:
        step = stride or DEFAULT_STRIDE.get(detector, 1)
        run = detect_session(session, make_detector(detector, **(options or {})), step, progress, refine)
    positions = localize(
        run.table, calibration, region, foot_offset_m, foot_point=foot_point, refined_bottom=refined_bottom
    )
    truth = pd.read_parquet(session / "truth" / "frames.parquet")
    view = str(meta.get("camera_view", "?"))
    args = (positions, truth, run.table, session.name, view, detector, run.fps)
    qualities = [all_frames_quality(*args)]
    if (truth["point"] >= 0).any():
        qualities.append(surveyed_points_quality(*args))
    return Evaluated(qualities, positions, run.table, run)


def score_positions(
    session: Path, positions: pd.DataFrame, detections: pd.DataFrame, detector: str, fps: float
) -> Quality:
    """All-frames quality of labels that the pipeline's stages already wrote."""
    meta = read_yaml(session / "session.yaml")
    truth = pd.read_parquet(session / "truth" / "frames.parquet")
    view = str(meta.get("camera_view", "?"))
    return all_frames_quality(positions, truth, detections, session.name, view, detector, fps)
