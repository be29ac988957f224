"""The benchmark's fixed facts, each defined once; every other module reads them from here.

``io`` is the lowest layer, so the simulator, the CSI library, the data, the models, training
and the report can all import this module.
"""

from __future__ import annotations

#: Subcarriers per CSI row: the 52 useful LLTF subcarriers of an ESP32 HT20 frame (-26..-1, +1..+26).
N_SUBCARRIERS = 52
#: Default floor region of the lab (w, d) in m: long side along y.
DEFAULT_REGION_M = (1.8, 4.8)
#: Cells (across the short side, along the long side) of each region grid: 2 = 1x2, 4 = 2x2, 6 = 2x3.
REGION_GRIDS: dict[int, tuple[int, int]] = {2: (1, 2), 4: (2, 2), 6: (2, 3)}
#: The region grids, in order: the heads classify into each, the metrics report acc2/4/6.
REGION_COUNTS = tuple(REGION_GRIDS)
#: Localisation tasks: joint (default), the paper's regression runs, and its classification runs.
TASKS = ("multitask", "regression", "classify")
#: Splits: ``paper`` (per session the last 10 % test, 10 % before it validation), ``cross_subject``
#: (one subject left out) or ``cross_point`` (one surveyed point's sessions left out).
SPLITS = ("paper", "cross_subject", "cross_point")
#: The splits with folds (``data.fold``: which subject or point is left out); a run of each is a row.
FOLDED_SPLITS = ("cross_subject", "cross_point")
#: The parts of a split.
PARTS = ("train", "val", "test")
