"""Phase sanitisation: unwrap across subcarriers, then remove the linear trend.

Random per-packet timing offsets (packet detection delay, sampling frequency
offset) add a phase slope across subcarrier index; the carrier frequency offset
adds a constant. Fitting and removing ``a * k + b`` over the subcarrier indices k
leaves the part of the phase that depends on the channel.
"""

from __future__ import annotations

import numpy as np


def sanitize_phase(csi: np.ndarray, subcarrier_index: np.ndarray) -> np.ndarray:
    """Sanitised phase (rad), ``rows x subcarriers`` float32; NaN where the CSI is NaN.

    Args:
        csi: complex CSI, rows x subcarriers (NaN for invalid values).
        subcarrier_index: the subcarrier numbers of the columns (e.g. -26..-1, 1..26).
    """
    csi = np.asarray(csi)
    k = np.asarray(subcarrier_index, dtype=np.float64)
    if csi.ndim != 2 or csi.shape[1] != len(k):
        raise ValueError(f"csi of shape {csi.shape} does not match {len(k)} subcarrier indices")
    if csi.size == 0:
        return np.zeros(csi.shape, dtype=np.float32)
    invalid = ~np.isfinite(csi)
    filled = _previous_valid_along_rows(csi, invalid)
    phase = np.unwrap(np.angle(filled).astype(np.float64), axis=1)
    k_c = k - k.mean()
    slope = (phase @ k_c) / (k_c @ k_c)
    offset = phase.mean(axis=1)
    out = phase - slope[:, None] * k_c[None, :] - offset[:, None]
    out[invalid] = np.nan
    return out.astype(np.float32)


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
