"""Training windows over the data set's rows (paper protocol: 1-s windows at 100 Hz)."""

from __future__ import annotations

import numpy as np

#: Rows per window: 1 s of CSI at the nominal 100 Hz ping rate.
WINDOW_FRAMES = 100


def usable_windows(valid: np.ndarray, length: int = WINDOW_FRAMES) -> int:
    """Number of non-overlapping ``length``-row windows whose rows are all valid (paper protocol)."""
    n = len(valid) // length
    return int(valid[: n * length].reshape(n, length).all(axis=1).sum()) if n else 0
