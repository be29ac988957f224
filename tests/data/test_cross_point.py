"""The cross_point split: whole surveyed points held out for test and validation."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.data.splits import TEST, TRAIN, UNUSED, VAL, make_split, session_points, split_parts
from lofi.data.windows import run_ids
from lofi.io.constants import SPLITS

#: Five sessions at four points; sessions 0 and 3 were recorded at the same point (rounded to the mm).
BOUNDS = [(0, 300), (300, 500), (500, 800), (800, 1000), (1000, 1200)]
SUBJECTS = ["S1"] * 5
POINTS = [(0.5, 1.0), (1.5, 1.0), (0.5, 4.0), (0.5004, 1.0), (1.5, 4.0)]
DISTINCT = [(0.5, 1.0), (0.5, 4.0), (1.5, 1.0), (1.5, 4.0)]  # sorted: the folds' order


def _session_parts(parts: np.ndarray) -> list[int]:
    """The one part each session's rows are in (a session is never cut)."""
    found = []
    for start, stop in BOUNDS:
        assert len(set(parts[start:stop])) == 1, "a session is split across parts"
        found.append(int(parts[start]))
    return found


def test_cross_point_is_a_split_name():
    assert "cross_point" in SPLITS


@pytest.mark.parametrize("fold", range(4))
def test_each_fold_tests_one_point_validates_the_next_and_trains_on_the_rest(fold):
    parts = _session_parts(split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", fold, points=POINTS))
    point_of = [DISTINCT.index((round(x, 3), y)) for x, y in POINTS]
    for session, part in enumerate(parts):
        expected = {fold: TEST, (fold + 1) % 4: VAL}.get(point_of[session], TRAIN)
        assert part == expected, f"fold {fold}: session {session} at {POINTS[session]}"
    assert parts.count(TRAIN) >= 1


def test_points_are_the_same_when_they_round_to_the_same_mm_not_when_they_lie_within_1_mm():
    """0.5004 and 0.4996 m round to 0.500 m (one point, 0.8 mm apart); 0.5006 m rounds to 0.501 m (another
    point, though 0.2 mm from 0.5004 m)."""
    points = [(0.5004, 1.0), (0.4996, 1.0), (0.5006, 1.0), (1.5, 1.0), (1.5, 4.0)]
    parts = _session_parts(split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", 0, points=points))
    assert parts == [TEST, TEST, VAL, TRAIN, TRAIN]
    with pytest.raises(ValueError, match=r"folds 0 \.\. 3; points \(0\.5, 1\), \(0\.501, 1\), \(1\.5, 1\)"):
        split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", 4, points=points)


def test_every_point_is_tested_in_exactly_one_fold():
    tested = np.zeros(1200, int)
    for fold in range(4):
        tested += split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", fold, points=POINTS) == TEST
    np.testing.assert_array_equal(tested, 1)


def test_rows_outside_every_session_stay_unused():
    parts = split_parts([(10, 50), (50, 90), (90, 130)], ["a"] * 3, 140, "cross_point", 0,
                        points=[(0, 0), (1, 1), (1, 2)])  # fmt: skip
    assert (parts[:10] == UNUSED).all() and (parts[130:] == UNUSED).all()
    assert (parts[10:50] == TEST).all() and (parts[50:90] == VAL).all() and (parts[90:130] == TRAIN).all()


def test_windows_of_a_cross_point_split_stay_in_their_part():
    valid = np.ones(1200, bool)
    runs = run_ids(np.repeat(np.arange(5), [b - a for a, b in BOUNDS]), np.zeros(1200, int))
    split = make_split(BOUNDS, SUBJECTS, valid, runs, 50, "cross_point", 1, points=POINTS)
    for k, name in enumerate(("train", "val", "test")):
        rows = split.starts[name][:, None] + np.arange(50)
        assert len(rows) and (split.parts[rows] == k).all()


def test_fewer_than_three_points_a_session_without_one_or_a_missing_fold_are_errors():
    two = [(0.5, 1.0), (1.5, 1.0), (0.5, 1.0), (1.5, 1.0), (0.5, 1.0)]
    with pytest.raises(ValueError, match=r"3 or more distinct points .* got 2: \(0\.5, 1\), \(1\.5, 1\)"):
        split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", 0, points=two)
    with pytest.raises(ValueError, match=r"needs every session recorded at a surveyed point .* 1 of 5"):
        split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", 0, points=[*POINTS[:4], None])
    with pytest.raises(ValueError, match=r"5 of 5 session\(s\) have none"):
        split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", 0)
    with pytest.raises(ValueError, match=r"fold 4: no such fold \(folds 0 \.\. 3; points \(0\.5, 1\), "):
        split_parts(BOUNDS, SUBJECTS, 1200, "cross_point", 4, points=POINTS)


def test_points_come_from_the_manifest_and_bad_ones_are_named():
    manifest = {"sessions": [{"position_m": [0.5, 1]}, {"position_m": None}, {}]}
    assert session_points(manifest) == [(0.5, 1.0), None, None]
    for bad in ([1.0], ["a", 1], [float("nan"), 1.0], "0.5,1", [True, 1]):
        with pytest.raises(ValueError, match=r"sessions\[1\]: position_m: expected \[x, y\]"):
            session_points({"sessions": [{"position_m": [0, 0]}, {"position_m": bad}]})
