"""Region classes: a grid over the floor region, for the region-accuracy metrics (SPEC §6).

The paper does not say how its 2, 4 and 6 regions are laid out; this project uses a grid
over the region (``region_m = (w, d)``, x across ``w``, y across ``d``, origin at a corner):

* 2 regions: 1 x 2 (one cell across the short side, two along the long side);
* 4 regions: 2 x 2;
* 6 regions: 2 x 3 (two across the short side, three along the long side).

Cells are numbered across the short side first, then along the long side:
``index = long_cell * n_short + short_cell``. For the default lab region (1.8 x 4.8 m, long
side y) and 6 regions, cell 0 is x < 0.9, y < 1.6; cell 1 is x >= 0.9, y < 1.6; cell 2 is
x < 0.9, 1.6 <= y < 3.2, and so on.

Boundary rule: a cell holds its lower edge and not its upper one, so a point on an inner
grid line belongs to the cell above it (larger coordinate). A point within
:data:`EDGE_TOL_M` of a grid line counts as on it (so 1.6 m is on the line at 4.8 / 3 m
although the two floats differ). Points outside the region are clipped to the nearest cell
(the far edges x = w and y = d belong to the last cells).
"""

from __future__ import annotations

import numpy as np

from lofi.io.constants import DEFAULT_REGION_M, REGION_GRIDS  # noqa: F401  (DEFAULT_REGION_M re-exported)

#: Cells (across the short side, along the long side) for each number of regions.
GRIDS = REGION_GRIDS
#: Distance (m) from a grid line within which a point counts as on it.
EDGE_TOL_M = 1e-9


def check_region(region_m: tuple[float, float] | list[float]) -> tuple[float, float]:
    """``region_m`` as a (w, d) tuple of positive finite metres, or a ValueError."""
    values = tuple(float(v) for v in region_m)
    if len(values) != 2 or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"region_m must be (width, depth) in m, both > 0, got {tuple(region_m)}")
    return values  # type: ignore[return-value]


def grid_shape(region_m: tuple[float, float], n: int) -> tuple[int, int]:
    """Cells (along x, along y) of the ``n``-region grid over ``region_m`` (a square region: long side y)."""
    if n not in GRIDS:
        raise ValueError(f"unknown number of regions {n}: expected one of {', '.join(map(str, GRIDS))}")
    short, long = GRIDS[n]
    w, d = check_region(region_m)
    return (long, short) if w > d else (short, long)


def _cells(coord: np.ndarray, size: float, cells: int) -> np.ndarray:
    """Cell (0 .. cells - 1) of each coordinate along one side of ``size`` m."""
    edges = size * np.arange(1, cells) / cells - EDGE_TOL_M
    return np.searchsorted(edges, coord, side="right").astype(np.int64)


def region_index(xy: np.ndarray, region_m: tuple[float, float], n: int) -> np.ndarray:
    """Region (int64, 0 .. n - 1) of each position ``xy`` (points x 2, m) in the ``n``-region grid.

    See the module docstring for the layout, numbering and boundary rule. NaN positions are
    a ValueError (a window label is always finite).
    """
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"positions must be (points x 2) in m, got shape {xy.shape}")
    if np.isnan(xy).any():
        raise ValueError(f"{int(np.isnan(xy).any(axis=1).sum())} position(s) are NaN: no region")
    nx, ny = grid_shape(region_m, n)
    w, d = check_region(region_m)
    cx, cy = _cells(xy[:, 0], w, nx), _cells(xy[:, 1], d, ny)
    return cx * ny + cy if w > d else cy * nx + cx


def region_centres(region_m: tuple[float, float], n: int) -> np.ndarray:
    """Centre (m) of each of the ``n`` regions, (n x 2), in index order."""
    nx, ny = grid_shape(region_m, n)
    w, d = check_region(region_m)
    cx, cy = (np.arange(nx) + 0.5) * w / nx, (np.arange(ny) + 0.5) * d / ny
    gx, gy = np.meshgrid(cx, cy)  # rows along y, columns along x
    if w > d:  # long side x: index = cx * ny + cy
        return np.stack([gx.T.ravel(), gy.T.ravel()], axis=1)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)  # long side y: index = cy * nx + cx
