"""Splits: parts in time order per session, no window across a split boundary, subjects left out."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.data.splits import PARTS, TEST, TRAIN, VAL, make_split, split_parts
from lofi.data.windows import run_ids

LENGTH = 10
#: Three sessions: A (1000 rows), B (500), A again (400).
BOUNDS = [(0, 1000), (1000, 1500), (1500, 1900)]
SUBJECTS = ["A", "B", "A"]


def _rows(seed: int = 0):
    rng = np.random.default_rng(seed)
    valid = rng.random(1900) > 0.01
    session = np.repeat([0, 1, 2], [1000, 500, 400])
    segment = np.zeros(1900, int)
    segment[700:1000] = 1
    return valid, run_ids(session, segment)


def _check_windows(split, runs, valid):
    for k, name in enumerate(PARTS):
        rows = split.starts[name][:, None] + np.arange(LENGTH)
        assert (split.parts[rows] == k).all(), f"a {name} window crosses a split boundary"
        assert valid[rows].all() and (runs[rows] == runs[rows[:, :1]]).all()


def test_paper_split_takes_the_last_tenths_of_each_session():
    parts = split_parts(BOUNDS, SUBJECTS, 1900, "paper")
    for start, stop in BOUNDS:
        n = stop - start
        assert (parts[stop - n // 10 : stop] == TEST).all()
        assert (parts[stop - 2 * (n // 10) : stop - n // 10] == VAL).all()
        assert (parts[start : stop - 2 * (n // 10)] == TRAIN).all()
        assert (np.diff(parts[start:stop]) >= 0).all()  # train, then val, then test: time order


def test_paper_windows_never_overlap_parts_or_cross_boundaries():
    valid, runs = _rows()
    split = make_split(BOUNDS, SUBJECTS, valid, runs, LENGTH, "paper")
    _check_windows(split, runs, valid)
    assert len(split.starts["train"]) > 1000 and np.all(np.diff(split.starts["test"]) >= LENGTH)
    rows = {name: set((split.starts[name][:, None] + np.arange(LENGTH)).ravel().tolist()) for name in PARTS}
    assert not (rows["train"] & rows["val"]) and not (rows["val"] & rows["test"])


def test_cross_subject_leaves_the_fold_subject_out_entirely():
    valid, runs = _rows()
    a_rows = np.r_[0:1000, 1500:1900]
    for fold, held, others in ((0, a_rows, np.r_[1000:1500]), (1, np.r_[1000:1500], a_rows)):
        split = make_split(BOUNDS, SUBJECTS, valid, runs, LENGTH, "cross_subject", fold)
        _check_windows(split, runs, valid)
        assert (split.parts[held] == TEST).all() and not (split.parts[others] == TEST).any()
        for name in ("train", "val"):
            assert np.isin(split.starts[name], others).all()
        assert np.isin(split.starts["test"], held).all()
    parts = split_parts(BOUNDS, SUBJECTS, 1900, "cross_subject", 0)  # B trains: its last 50 rows validate
    assert (parts[1450:1500] == VAL).all() and (parts[1000:1450] == TRAIN).all()


def test_empty_parts_and_bad_options_are_clear_errors():
    valid, runs = _rows()
    with pytest.raises(ValueError, match=r"'paper' fold 0: no val / test windows of 60 rows.*rows: train"):
        make_split([(0, 300)], ["A"], valid[:300], runs[:300], 60, "paper")
    with pytest.raises(ValueError, match="no train / val / test windows"):
        make_split(BOUNDS, SUBJECTS, np.r_[np.zeros(1900, bool)], runs, LENGTH, "cross_subject")
    with pytest.raises(ValueError, match=r"fold 2: no such fold.*subjects A, B"):
        split_parts(BOUNDS, SUBJECTS, 1900, "cross_subject", 2)
    with pytest.raises(ValueError, match="split 'paper' fold 1: no such fold"):
        split_parts(BOUNDS, SUBJECTS, 1900, "paper", 1)
    with pytest.raises(ValueError, match="unknown split 'random'"):
        split_parts(BOUNDS, SUBJECTS, 1900, "random")
