"""Alignment (paper eq. 5): each CSI frame takes the label of the nearest camera frame.

``m = argmin_m |t_i - T_m|`` by binary search over the sorted frame times. A label
is used only when that frame lies within ``tolerance_s`` and its position is valid;
otherwise the row keeps ``label_valid=False`` and says why.

A surveyed-point session (one recording standing at one marked floor point, no video) needs
no times at all: :func:`label_at_point` gives every row that point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


class AlignError(ValueError):
    """CSI and labels cannot be aligned (no host times, or no overlap in time)."""


@dataclass(frozen=True)
class Alignment:
    """Per CSI row: matched frame (-1: none), x/y (m, NaN: none), label_dt (s), validity and reason."""

    frame: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    label_dt: np.ndarray
    label_valid: np.ndarray
    reason: np.ndarray


def nearest_index(sorted_times: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of the nearest value in ``sorted_times`` for each query (eq. 5); ties take the earlier."""
    after = np.clip(np.searchsorted(sorted_times, queries), 1, len(sorted_times) - 1)
    before = after - 1
    later_is_nearer = np.abs(sorted_times[after] - queries) < np.abs(queries - sorted_times[before])
    return np.where(later_is_nearer, after, before)


def align_labels(
    t_csi: np.ndarray, positions: pd.DataFrame, tolerance_s: float, csi_missing: np.ndarray | None = None
) -> Alignment:
    """Label CSI rows at host times ``t_csi`` (s) with ``positions`` (frame, t_host, x_m, y_m, valid, reason).

    Args:
        t_csi: host time of every CSI row (s).
        positions: one row per camera frame (see ``lofi.io.schema.POSITIONS_COLUMNS``).
        tolerance_s: largest |t_csi - T_m| (s) at which a frame's label is taken.
        csi_missing: rows whose CSI is NaN (an outage, or a lost row left unfilled); their labels
            are kept but marked invalid with reason ``csi_missing``.

    Raises:
        AlignError: no host times, no frames, or the two streams do not overlap in time.
    """
    t_csi = np.asarray(t_csi, dtype=np.float64)
    frames = positions.sort_values("t_host", kind="stable").reset_index(drop=True)
    t_frames = frames["t_host"].to_numpy(np.float64)
    _check_overlap(t_csi, t_frames)
    m = nearest_index(t_frames, t_csi) if len(t_frames) > 1 else np.zeros(len(t_csi), dtype=np.int64)
    label_dt = t_csi - t_frames[m]
    near = np.abs(label_dt) <= tolerance_s
    frame_reason = frames["reason"].fillna("").astype(str).to_numpy()[m]
    frame_ok = frames["valid"].to_numpy(bool)[m]
    reason = np.where(~near, "no_frame_near", np.where(frame_ok, "", frame_reason))
    reason = np.where((reason == "") & ~frame_ok, "no_label", reason)
    has_label = reason == ""
    if csi_missing is not None:
        reason = np.where(has_label & np.asarray(csi_missing, dtype=bool), "csi_missing", reason)
    x = np.where(has_label, frames["x_m"].to_numpy(np.float64)[m], np.nan)
    y = np.where(has_label, frames["y_m"].to_numpy(np.float64)[m], np.nan)
    frame = np.where(near, frames["frame"].to_numpy(np.int64)[m], -1)
    return Alignment(frame, x, y, np.where(near, label_dt, np.nan), reason == "", reason.astype(object))


def label_at_point(
    n_rows: int, point_m: tuple[float, float], csi_missing: np.ndarray | None = None
) -> Alignment:
    """Label all ``n_rows`` CSI rows with one surveyed floor point ``(x, y)`` (m, region frame).

    No host time is used: every row has ``frame = -1`` and ``label_dt = NaN`` (no camera frame).
    Rows in ``csi_missing`` keep the point but are marked invalid with reason ``csi_missing``,
    as in :func:`align_labels`.
    """
    x, y = (float(v) for v in point_m)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise AlignError(f"a surveyed point needs finite x and y in m, got ({x}, {y})")
    missing = np.zeros(n_rows, dtype=bool) if csi_missing is None else np.asarray(csi_missing, dtype=bool)
    if missing.shape != (n_rows,):
        raise ValueError(f"csi_missing has shape {missing.shape}, expected ({n_rows},)")
    reason = np.where(missing, "csi_missing", "").astype(object)
    return Alignment(
        frame=np.full(n_rows, -1, dtype=np.int64),
        x_m=np.full(n_rows, x),
        y_m=np.full(n_rows, y),
        label_dt=np.full(n_rows, np.nan),
        label_valid=~missing,
        reason=reason,
    )


def _check_overlap(t_csi: np.ndarray, t_frames: np.ndarray) -> None:
    if len(t_frames) == 0:
        raise AlignError("the positions table has no frames")
    finite = t_csi[np.isfinite(t_csi)]
    if len(finite) == 0:
        raise AlignError("the CSI has no host times, so it cannot be aligned with the video")
    lo, hi = max(finite.min(), t_frames.min()), min(finite.max(), t_frames.max())
    if lo > hi:
        raise AlignError(f"CSI ({_span(finite)}) and video frames ({_span(t_frames)}) do not overlap in time")


def _span(t: np.ndarray) -> str:
    """``t.min()`` to ``t.max()`` (epoch s) as date-times; as numbers where no date-time fits."""
    try:
        start, end = pd.to_datetime([t.min(), t.max()], unit="s")
        return f"{start:%Y-%m-%d %H:%M:%S.%f}"[:-3] + f" to {end:%H:%M:%S.%f}"[:-3]
    except (OverflowError, ValueError, NotImplementedError, pd.errors.OutOfBoundsDatetime):
        return f"t = {t.min():.6g} to {t.max():.6g} s"


def camera_period_s(camera_rate_hz: float | None, positions: pd.DataFrame) -> float:
    """One camera period (s): 1 / ``camera_rate_hz`` when known, else the median frame interval."""
    if camera_rate_hz is not None:
        return 1.0 / float(camera_rate_hz)
    t = np.sort(positions["t_host"].to_numpy(np.float64))
    if len(t) < 2:
        raise AlignError("cannot infer a camera period from fewer than 2 frames: give --tolerance-s")
    period = float(np.median(np.diff(t)))
    if not (math.isfinite(period) and period > 0):
        raise AlignError(
            f"cannot infer a camera period: the median frame interval is {period:g} s "
            "(frames share host times): give --tolerance-s"
        )
    return period
