"""Training windows over the data set's rows (paper protocol: 1-s windows at 100 Hz).

A window is ``length`` consecutive rows (row ``start`` to ``start + length - 1``). It is
usable when every row is label-valid and it lies inside one *run*: rows of one session,
one CSI segment (and, for splits, one part of the split). Runs are given as an id per
row; a window never spans a row where the id changes value.
"""

from __future__ import annotations

import numpy as np

#: Rows per window: 1 s of CSI at the nominal 100 Hz ping rate.
WINDOW_FRAMES = 100
#: How a window's label is taken from its rows' positions.
LABELS = ("mean", "last", "center")
_BLOCK_VALUES = 1 << 20  # rows gathered at once when averaging windows


def usable_windows(valid: np.ndarray, length: int = WINDOW_FRAMES) -> int:
    """Number of non-overlapping ``length``-row windows whose rows are all valid (paper protocol)."""
    n = len(valid) // length
    return int(valid[: n * length].reshape(n, length).all(axis=1).sum()) if n else 0


def run_ids(*keys: np.ndarray) -> np.ndarray:
    """Number the runs of rows over which every key stays the same (int64, 0, 1, ... per row).

    ``run_ids(session_codes, segment)`` gives one id per session segment; equal values that
    are not adjacent (segment 0 of two sessions) still get different ids.
    """
    if not keys:
        raise ValueError("run_ids needs at least one key")
    n = len(keys[0])
    change = np.zeros(n, dtype=bool)
    for key in keys:
        key = np.asarray(key)
        if len(key) != n:
            raise ValueError(f"run_ids: keys of {n} and {len(key)} rows")
        change[1:] |= key[1:] != key[:-1]
    return np.cumsum(change, dtype=np.int64)


def _check_length(length: int, stride: int = 1) -> None:
    if int(length) != length or length < 1:
        raise ValueError(f"window length must be a positive number of rows, got {length}")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"window stride must be a positive number of rows, got {stride}")


def valid_window_starts(
    valid: np.ndarray, segment_ids: np.ndarray, length: int = WINDOW_FRAMES, stride: int = 1
) -> np.ndarray:
    """First rows (int64, ascending) of the usable windows of ``length`` rows.

    Args:
        valid: per row, True where the row may be used (label-valid, and in the wanted part).
        segment_ids: per row, an id that changes wherever a window must not cross (see
            :func:`run_ids`: session, segment, split part).
        length: rows per window.
        stride: rows between starts, counted from the first row of each stretch of usable
            rows (``stride = length``: the most non-overlapping windows per stretch;
            ``stride = 1``: every usable window).
    """
    _check_length(length, stride)
    valid = np.asarray(valid, dtype=bool)
    ids = np.asarray(segment_ids)
    if ids.shape != valid.shape or valid.ndim != 1:
        raise ValueError(f"valid {valid.shape} and segment_ids {ids.shape} must be 1-D of the same length")
    n = len(valid)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(n)
    begins = valid & np.concatenate([[True], ~valid[:-1] | (ids[1:] != ids[:-1])])
    stretch_start = np.maximum.accumulate(np.where(begins, rows, 0))
    ends = valid & np.concatenate([~valid[1:] | (ids[1:] != ids[:-1]), [True]])
    stretch_end = np.minimum.accumulate(np.where(ends, rows, n)[::-1])[::-1] + 1  # one past the last row
    ok = valid & (stretch_end - rows >= length) & ((rows - stretch_start) % stride == 0)
    return np.flatnonzero(ok).astype(np.int64)


def window_labels(
    x: np.ndarray, y: np.ndarray, starts: np.ndarray, length: int = WINDOW_FRAMES, how: str = "mean"
) -> np.ndarray:
    """Label (m) of each window: (windows x 2) float64 of x and y.

    ``how``: ``mean`` of the window's rows (paper), ``last`` row, or ``center`` row (row
    ``start + length // 2``: for an even length, the later of the two middle rows). A NaN
    position inside a window gives a NaN label (mean) or the NaN of the row taken.
    """
    _check_length(length)
    if how not in LABELS:
        raise ValueError(f"unknown window label {how!r}: expected one of {', '.join(LABELS)}")
    starts = np.asarray(starts, dtype=np.int64)
    xy = np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)], axis=1)
    if len(starts) and (starts.min() < 0 or starts.max() + length > len(xy)):
        raise ValueError(f"window starts must lie in [0, {len(xy) - length}] for {len(xy)} rows")
    if how == "last":
        return xy[starts + length - 1]
    if how == "center":
        return xy[starts + length // 2]
    return _window_means(xy, starts, length)


def _window_means(xy: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Mean of rows ``start .. start + length - 1`` of ``xy`` per start (NaN if any row is NaN).

    Each window is averaged on its own (in blocks of windows), so a label does not depend on
    the rows before it, as a running sum would.
    """
    out = np.empty((len(starts), xy.shape[1]))
    block = max(1, _BLOCK_VALUES // length)
    for first in range(0, len(starts), block):
        chunk = starts[first : first + block]
        out[first : first + len(chunk)] = xy[window_rows(chunk, length)].mean(axis=1)
    return out


def window_rows(starts: np.ndarray, length: int = WINDOW_FRAMES) -> np.ndarray:
    """Row indices (windows x length, int64) of each window."""
    _check_length(length)
    return np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length)
