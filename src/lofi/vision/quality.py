"""Label quality: vision labels against the simulator's truth.

Per session, detector and view: mean / median / p95 floor error (cm) over frames
with a valid label, detection rate, wrong-object rate (the kept box's floor point
more than 0.5 m from the true person) and frames per second. The surveyed-points
version averages each standing period's labels into one point, as the paper's
10-point experiment did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

WRONG_OBJECT_M = 0.5
NOMINAL_HEIGHT_M = 1.7  # converts pixel offsets at the person's depth to metres


@dataclass(frozen=True)
class Quality:
    session: str
    view: str
    detector: str
    experiment: str  # "all_frames" or "surveyed_points"
    frames: int
    detection_rate: float
    wrong_object_rate: float
    mean_cm: float
    median_cm: float
    p95_cm: float
    fps: float

    def row(self) -> dict:
        return asdict(self)


def wrong_object(detections: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Per frame: the kept box's centre is more than 0.5 m from the true person's box centre.

    Pixel offsets are turned into metres at the person's depth with the true box's
    height (a person is about 1.7 m tall). Indexed by frame.
    """
    merged = detections.merge(truth[["frame", "box_x0", "box_y0", "box_x1", "box_y1"]], on="frame")
    du = (merged["x0"] + merged["x1"] - merged["box_x0"] - merged["box_x1"]) / 2
    dv = (merged["y0"] + merged["y1"] - merged["box_y0"] - merged["box_y1"]) / 2
    metres_per_px = NOMINAL_HEIGHT_M / (merged["box_y1"] - merged["box_y0"])
    far = (np.hypot(du, dv) * metres_per_px).fillna(np.inf) > WRONG_OBJECT_M
    kept = merged["x0"].notna()
    return pd.Series((far & kept).to_numpy(), index=merged["frame"].to_numpy())


def bottom_errors_px(detections: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float]:
    """Mean |box bottom - true box bottom| (px) over frames with a kept box: the
    detector's bottom (``y1``) and the refined one (``foot_y``; NaN if none was refined)."""
    merged = detections.merge(truth[["frame", "box_y1"]], on="frame")
    merged = merged[merged["y1"].notna() & merged["box_y1"].notna()]
    detector = float((merged["y1"] - merged["box_y1"]).abs().mean())
    refined = merged["foot_y"].notna() if "foot_y" in merged else pd.Series(False, index=merged.index)
    if not refined.any():
        return detector, float("nan")
    return detector, float((merged.loc[refined, "foot_y"] - merged.loc[refined, "box_y1"]).abs().mean())


def _errors_cm(positions: pd.DataFrame, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame floor error (cm, NaN where no position) and whether a box was kept."""
    merged = positions.merge(truth[["frame", "x_m", "y_m"]], on="frame", suffixes=("", "_true"))
    error = np.hypot(merged["x_m"] - merged["x_m_true"], merged["y_m"] - merged["y_m_true"]).to_numpy() * 100
    detected = merged["reason"].to_numpy() != "no_person"
    detected &= merged["reason"].to_numpy() != "corrupt_frame"
    return error, detected


def all_frames_quality(
    positions: pd.DataFrame,
    truth: pd.DataFrame,
    detections: pd.DataFrame,
    session: str,
    view: str,
    detector: str,
    fps: float,
) -> Quality:
    """Quality over every evaluated frame of a session."""
    error, detected = _errors_cm(positions, truth)
    valid = positions["valid"].to_numpy()
    wrong = wrong_object(detections, truth).reindex(positions["frame"]).fillna(False).to_numpy()
    good = error[valid & np.isfinite(error)]
    return Quality(
        session, view, detector, "all_frames", len(error),
        float(detected.mean()) if len(error) else float("nan"),
        float(wrong.sum() / max(detected.sum(), 1)),
        *_stats(good), fps,
    )  # fmt: skip


def surveyed_points_quality(
    positions: pd.DataFrame,
    truth: pd.DataFrame,
    detections: pd.DataFrame,
    session: str,
    view: str,
    detector: str,
    fps: float,
) -> Quality:
    """The paper's experiment: one averaged label per (subject, surveyed point)."""
    merged = positions.merge(
        truth[["frame", "x_m", "y_m", "point", "subject"]], on="frame", suffixes=("", "_true")
    )
    standing = merged[(merged["point"] >= 0) & merged["valid"]]
    per_point = standing.groupby(["subject", "point"])[["x_m", "y_m", "x_m_true", "y_m_true"]].mean()
    error = (
        np.hypot(
            per_point["x_m"] - per_point["x_m_true"], per_point["y_m"] - per_point["y_m_true"]
        ).to_numpy()
        * 100
    )
    at_points = merged[merged["point"] >= 0]
    detected = ~at_points["reason"].isin(["no_person", "corrupt_frame"])
    frame_error = (
        np.hypot(at_points["x_m"] - at_points["x_m_true"], at_points["y_m"] - at_points["y_m_true"]) * 100
    )
    wrong = detected & (frame_error.fillna(np.inf) > WRONG_OBJECT_M * 100)
    return Quality(
        session, view, detector, "surveyed_points", len(per_point),
        float(detected.mean()) if len(at_points) else float("nan"),
        float(wrong.sum() / max(detected.sum(), 1)),
        *_stats(error), fps,
    )  # fmt: skip


def _stats(error_cm: np.ndarray) -> tuple[float, float, float]:
    if len(error_cm) == 0:
        return float("nan"), float("nan"), float("nan")
    return float(np.mean(error_cm)), float(np.median(error_cm)), float(np.percentile(error_cm, 95))
