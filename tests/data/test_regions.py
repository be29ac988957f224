"""Region grids: 2 = 1x2 along the long side, 4 = 2x2, 6 = 2x3; exact at grid lines and outside."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.data.regions import DEFAULT_REGION_M, grid_shape, region_centres, region_index

LAB = DEFAULT_REGION_M  # 1.8 x 4.8 m, long side y


def _index(points, n, region=LAB):
    return region_index(np.array(points, dtype=float), region, n).tolist()


def test_layouts_follow_the_long_side():
    assert [grid_shape(LAB, n) for n in (2, 4, 6)] == [(1, 2), (2, 2), (2, 3)]
    assert [grid_shape((4.8, 1.8), n) for n in (2, 4, 6)] == [(2, 1), (2, 2), (3, 2)]


def test_points_on_a_grid_line_go_to_the_upper_cell():
    assert _index([[0.5, 2.3999], [0.5, 2.4], [1.7, 2.4]], 2) == [0, 1, 1]
    assert _index([[0.9, 2.4], [0.8999, 2.4], [0.9, 2.3999]], 4) == [3, 2, 1]
    six = [[0.0, 0.0], [0.9, 0.0], [0.0, 1.6], [0.9, 1.6], [0.0, 3.2], [0.9, 3.2], [0.8999, 1.5999]]
    assert _index(six, 6) == [0, 1, 2, 3, 4, 5, 0]


def test_far_edges_and_points_outside_are_clipped_to_the_nearest_cell():
    assert _index([[1.8, 4.8], [-1.0, -1.0], [5.0, 10.0], [-1.0, 10.0], [9.0, 2.0]], 6) == [5, 0, 5, 4, 3]
    assert _index([[-3.0, 2.0], [3.0, -2.0]], 2) == [0, 0]


def test_a_region_long_in_x_numbers_across_y_first():
    assert _index([[2.4, 0.5], [2.3, 0.5]], 2, (4.8, 1.8)) == [1, 0]
    assert _index([[0.1, 0.1], [0.1, 1.0], [1.7, 0.1], [4.0, 1.0]], 6, (4.8, 1.8)) == [0, 1, 2, 5]


@pytest.mark.parametrize("region", [LAB, (4.8, 1.8), (3.0, 3.0)])
@pytest.mark.parametrize("n", [2, 4, 6])
def test_each_centre_falls_in_its_own_region(region, n):
    assert region_index(region_centres(region, n), region, n).tolist() == list(range(n))


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="NaN"):
        _index([[np.nan, 1.0]], 2)
    with pytest.raises(ValueError, match="number of regions 3"):
        _index([[0.0, 1.0]], 3)
    with pytest.raises(ValueError, match="region_m"):
        region_index(np.zeros((1, 2)), (0.0, 4.8), 2)
