"""Phase sanitisation: unwrap across subcarriers, then remove the linear trend.

Random per-packet timing offsets (packet detection delay, sampling frequency
offset) add a phase slope across subcarrier index; the carrier frequency offset
adds a constant. Fitting and removing ``a * k + b`` over the subcarrier indices k
leaves the part of the phase that depends on the channel.

The work runs one subcarrier at a time over all rows (a column of 200 000 rows
fits the CPU cache), keeping the unwrapping as whole turns (small integers): the same steps
as :func:`numpy.unwrap` (a step larger than pi in size is wrapped), with the
unwrapped phase and the fit in float64.
"""

from __future__ import annotations

import numpy as np

_TWO_PI = 2.0 * np.pi


def sanitize_phase(csi: np.ndarray, subcarrier_index: np.ndarray) -> np.ndarray:
    """Sanitised phase (rad), ``rows x subcarriers`` float32; NaN where the CSI is NaN.

    Args:
        csi: complex CSI, rows x subcarriers (NaN for invalid values).
        subcarrier_index: the subcarrier numbers of the columns (e.g. -26..-1, 1..26).
    """
    return np.ascontiguousarray(sanitize_phase_by_subcarrier(csi, subcarrier_index).T)


def sanitize_phase_by_subcarrier(csi: np.ndarray, subcarrier_index: np.ndarray) -> np.ndarray:
    """:func:`sanitize_phase` transposed: ``subcarriers x rows`` float32 (rad).

    For callers that copy the phase into a larger array anyway (``out[rows] = p.T``),
    which saves a transposed copy of the whole matrix.
    """
    csi = np.asarray(csi)
    k = np.asarray(subcarrier_index, dtype=np.float64)
    if csi.ndim != 2 or csi.shape[1] != len(k):
        raise ValueError(f"csi of shape {csi.shape} does not match {len(k)} subcarrier indices")
    if csi.size == 0:
        return np.zeros(csi.shape[::-1], dtype=np.float32)
    invalid = ~np.isfinite(csi)
    angle = _angle_by_subcarrier(_previous_valid_along_rows(csi, invalid))
    k_c = k - k.mean()
    turns, slope_sum, phase_sum = _unwrap_turns(angle, k_c)
    slope = slope_sum / (k_c @ k_c)
    offset = phase_sum / len(k)
    # Each subcarrier's row of ``angle`` is read once more, so float32 angles are overwritten.
    out = angle if angle.dtype == np.float32 else np.empty(angle.shape, dtype=np.float32)
    for j in range(len(k)):
        out[j] = _unwrapped(angle[j], turns[j]) - slope * k_c[j] - offset
    if invalid.any():
        out[invalid.T] = np.nan
    return out


def _angle_by_subcarrier(csi: np.ndarray) -> np.ndarray:
    """``np.angle(csi)`` (rad, float32 for complex64 input), transposed: subcarriers x rows."""
    dtype = np.angle(csi[:1, :1]).dtype
    angle = np.empty(csi.shape[::-1], dtype=dtype)
    np.arctan2(csi.imag, csi.real, out=angle.T)
    return angle


def _unwrap_turns(angle: np.ndarray, k_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole turns that unwrap each subcarrier's phase, and per row the sums over subcarriers
    of ``phase * k_c`` and ``phase`` (the unwrapped phase, float64) for the linear fit.

    ``angle`` is subcarriers x rows; a step between neighbours larger than pi (rad) in
    size adds one turn against it, as in :func:`numpy.unwrap`.
    """
    turns = np.zeros(angle.shape, dtype=np.min_scalar_type(-len(angle)))
    previous = angle[0].astype(np.float64)
    slope_sum = previous * k_c[0]
    phase_sum = previous.copy()
    turn = np.zeros(angle.shape[1], dtype=turns.dtype)
    for j in range(1, len(angle)):
        current = angle[j].astype(np.float64)
        step = current - previous
        turn += step < -np.pi
        turn -= step > np.pi
        turns[j] = turn
        previous = current
        phase = _unwrapped(current, turn)
        slope_sum += phase * k_c[j]
        phase_sum += phase
    return turns, slope_sum, phase_sum


def _unwrapped(angle: np.ndarray, turns: np.ndarray) -> np.ndarray:
    """Unwrapped phase (rad, float64) of one subcarrier: angle plus whole turns."""
    return angle + _TWO_PI * turns


def _previous_valid_along_rows(csi: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """Replace invalid entries by the previous valid one in the row (the first valid one
    for leading gaps; 1 for rows with none). Used for unwrapping only."""
    if not invalid.any():
        return csi
    columns = np.arange(csi.shape[1])
    last_valid = np.maximum.accumulate(np.where(invalid, -1, columns), axis=1)
    first_valid = np.argmax(~invalid, axis=1)
    source = np.where(last_valid < 0, first_valid[:, None], last_valid)
    out = np.take_along_axis(csi, source, axis=1)
    out[invalid.all(axis=1)] = 1.0
    return out
