"""Window starts and labels on hand-made rows: no unlabelled row, no session or segment crossing."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.data.windows import run_ids, valid_window_starts, window_labels, window_rows


def _rows():
    """30 rows: session 0 (rows 0-17, segment change at 12), session 1 (18-29); row 5 unlabelled."""
    session = np.repeat([0, 1], [18, 12])
    segment = np.concatenate([np.zeros(12, int), np.ones(6, int), np.ones(12, int)])  # 1 | 1 across sessions
    valid = np.ones(30, bool)
    valid[5] = False
    return valid, run_ids(session, segment)


def test_runs_separate_equal_segment_numbers_of_two_sessions():
    _, runs = _rows()
    assert runs.tolist() == [0] * 12 + [1] * 6 + [2] * 12


def test_every_window_is_labelled_and_inside_one_run():
    valid, runs = _rows()
    starts = valid_window_starts(valid, runs, length=4)
    assert starts.tolist() == [0, 1, 6, 7, 8, 12, 13, 14, *range(18, 27)]
    for s in starts:
        assert valid[s : s + 4].all() and len(set(runs[s : s + 4])) == 1


def test_stride_counts_from_each_stretch_of_usable_rows():
    valid, runs = _rows()
    assert valid_window_starts(valid, runs, 4, stride=4).tolist() == [0, 6, 12, 18, 22, 26]
    assert valid_window_starts(valid, runs, 7).tolist() == [18, 19, 20, 21, 22, 23]


def test_random_rows_match_a_brute_force_search():
    rng = np.random.default_rng(3)
    valid = rng.random(500) > 0.03
    runs = run_ids(np.repeat(np.arange(5), 100), (rng.random(500) < 0.01).cumsum())
    found = set(valid_window_starts(valid, runs, 10).tolist())
    expected = {s for s in range(491) if valid[s : s + 10].all() and len(set(runs[s : s + 10])) == 1}
    assert found == expected


def test_too_short_or_empty_gives_no_window_and_bad_lengths_are_errors():
    assert valid_window_starts(np.ones(3, bool), np.zeros(3), 4).tolist() == []
    assert valid_window_starts(np.zeros(0, bool), np.zeros(0), 4).tolist() == []
    with pytest.raises(ValueError, match="length"):
        valid_window_starts(np.ones(3, bool), np.zeros(3), 0)
    with pytest.raises(ValueError, match="same length"):
        valid_window_starts(np.ones(3, bool), np.zeros(4), 2)


def test_labels_are_exact_mean_last_and_center():
    x, y = np.arange(10.0), 100.0 + 2 * np.arange(10.0)
    starts = np.array([0, 3, 6])
    assert window_labels(x, y, starts, 4, "mean").tolist() == [[1.5, 103.0], [4.5, 109.0], [7.5, 115.0]]
    assert window_labels(x, y, starts, 4, "last").tolist() == [[3, 106], [6, 112], [9, 118]]
    assert window_labels(x, y, starts, 4, "center").tolist() == [[2, 104], [5, 110], [8, 116]]
    assert window_labels(x, y, [2], 3, "center").tolist() == [[3, 106]]


def test_a_nan_inside_the_window_makes_its_mean_nan_and_bad_options_fail():
    x = np.arange(10.0)
    x[4] = np.nan
    labels = window_labels(x, x, [0, 2, 5], 3)
    assert np.isnan(labels[1]).all() and labels[0].tolist() == [1, 1] and labels[2].tolist() == [6, 6]
    with pytest.raises(ValueError, match="unknown window label 'median'"):
        window_labels(x, x, [0], 3, "median")
    with pytest.raises(ValueError, match="starts"):
        window_labels(x, x, [8], 3)
    assert window_rows(np.array([2, 5]), 3).tolist() == [[2, 3, 4], [5, 6, 7]]
