"""Training windows over the data set's rows."""

from __future__ import annotations

import numpy as np

from lofi.data.windows import WINDOW_FRAMES, usable_windows


def test_usable_windows_counts_whole_valid_windows():
    valid = np.ones(350, dtype=bool)
    valid[150] = False
    assert usable_windows(valid, 100) == 2  # [0, 100) and [200, 300); the tail of 50 rows is no window
    assert usable_windows(valid[:99], 100) == 0
    assert usable_windows(np.ones(3 * WINDOW_FRAMES, bool)) == 3
