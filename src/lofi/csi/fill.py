"""Filling the rows of lost packets (paper step 5): linear, cubic spline, none, or CSI-BERT.

Each method fills the rows marked ``fill`` from the received rows around them, in
time; rows of gaps longer than the caller's maximum are never passed in, so an
outage stays NaN instead of being bridged across seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lofi.csi.choices import FILL_METHODS


class FillMethodUnavailableError(ValueError):
    """The requested fill method cannot run (e.g. CSI-BERT without a trained checkpoint)."""


@dataclass
class FillResult:
    """Filled amplitudes (rows x S, float32) and how many rows kept their fallback value."""

    amplitude: np.ndarray
    fallback_rows: int


class AmplitudeFiller(Protocol):
    """A learned amplitude fill (CSI-BERT: :class:`lofi.models.recovery.CsiBertFiller`)."""

    def fill(
        self, amplitude: np.ndarray, fill: np.ndarray, received: np.ndarray, runs: np.ndarray
    ) -> FillResult:
        """``amplitude`` (rows x S, fallback values in ``fill`` rows) with the ``fill`` rows recovered;
        ``runs`` (one id per row) separates segments, which a window must not span."""
        ...


def fill_rows(
    t_s: np.ndarray,
    values: np.ndarray,
    received: np.ndarray,
    fill: np.ndarray,
    method: str,
    *,
    copy: bool = True,
) -> np.ndarray:
    """Values with the rows ``fill`` filled from the ``received`` rows (a new float32 array).

    Args:
        t_s: time of every row (s, increasing).
        values: rows x columns (or a 1-D column); NaN in rows that were not received.
        received: rows that hold measured values.
        fill: rows to fill (a subset of the rows not received).
        method: one of :data:`FILL_METHODS`.
        copy: with ``False``, a float32 ``values`` is filled in place and returned.
    """
    if method not in FILL_METHODS:
        raise ValueError(f"unknown fill method {method!r}; choose one of {', '.join(FILL_METHODS)}")
    if method == "csibert":
        raise FillMethodUnavailableError(
            "fill method 'csibert' needs a pre-trained CSI-BERT (an AmplitudeFiller): "
            "`lofi csi --fill csibert --checkpoint csibert_recovery.pt`; fill_rows itself does "
            "linear, spline and none"
        )
    out = np.array(values, dtype=np.float32, copy=True if copy else None)
    if method == "none" or not fill.any() or received.sum() < 2:
        return out
    column = out.ndim == 1
    matrix = out[:, None] if column else out
    matrix[fill] = _linear(t_s, matrix, received, fill)
    if method == "spline":
        _spline_over_linear(t_s, matrix, received, fill)
    return matrix[:, 0] if column else matrix


def _linear(t_s: np.ndarray, values: np.ndarray, received: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Straight line between the received rows just before and just after each filled row."""
    got = np.flatnonzero(received)
    rows = np.flatnonzero(fill)
    after = np.clip(np.searchsorted(got, rows), 1, len(got) - 1)
    before = after - 1
    t0, t1 = t_s[got[before]], t_s[got[after]]
    weight = np.clip((t_s[rows] - t0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0, 1.0)[:, None]
    return (1 - weight) * values[got[before]] + weight * values[got[after]]


def _spline_over_linear(t_s: np.ndarray, values: np.ndarray, received: np.ndarray, fill: np.ndarray) -> None:
    """Cubic spline through the received rows, in place; columns with gaps keep the linear fill."""
    from scipy.interpolate import CubicSpline  # imported here: scipy takes ~0.3 s to import

    got = np.flatnonzero(received)
    complete = np.isfinite(values[got]).all(axis=0)
    if not complete.any():
        return
    spline = CubicSpline(t_s[got], values[np.ix_(got, np.flatnonzero(complete))], axis=0)
    values[np.ix_(np.flatnonzero(fill), np.flatnonzero(complete))] = spline(t_s[fill])


def rows_in_short_gaps(t_s: np.ndarray, received: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Rows not received whose surrounding received rows are at most ``max_gap_s`` apart."""
    got = np.flatnonzero(received)
    rows = np.flatnonzero(~received)
    out = np.zeros(len(received), dtype=bool)
    if len(got) < 2 or len(rows) == 0:
        return out
    after = np.searchsorted(got, rows)
    inside = (after > 0) & (after < len(got))
    rows, after = rows[inside], after[inside]
    span = t_s[got[after]] - t_s[got[after - 1]]
    out[rows[span <= max_gap_s]] = True
    return out
