"""Train / validation / test splits of the data set's rows, and the windows in each (SPEC §6).

Each row gets a part (:data:`TRAIN`, :data:`VAL`, :data:`TEST`). Windows are then found per
part with the part as one more run key, so no window crosses a split boundary, a session
or a segment.

* ``paper``: every session in time order: its last ``test_frac`` (10 %) of rows are test,
  the ``val_frac`` (10 %) before them validation, the rest training (the reference trains on
  the first 90 % and tests on the last 10 % per subject; validation is this project's
  addition). Only ``fold = 0`` exists.
* ``cross_subject``: leave one subject out. Subjects are the sessions' ``subject`` ids,
  sorted; ``fold`` picks the test subject, all of whose rows are test. The last ``val_frac``
  of every other session is validation, the rest training.

Fractions count a session's rows (labelled or not); the cut is rounded to the nearest row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lofi.data.windows import run_ids, valid_window_starts
from lofi.io.constants import PARTS, SPLITS

TRAIN, VAL, TEST = 0, 1, 2
#: Part of rows that belong to no part.
UNUSED = -1


@dataclass(frozen=True)
class SplitWindows:
    """The windows of one split: starts per part (int64 rows) and the part of every row (int8)."""

    split: str
    fold: int
    length: int
    parts: np.ndarray
    starts: dict[str, np.ndarray]

    def part_rows(self, part: str) -> np.ndarray:
        """Boolean mask of the rows in ``part`` (train, val or test)."""
        return self.parts == PARTS.index(part)


def subject_ids(subjects: Sequence[str]) -> list[str]:
    """The distinct subject ids, sorted: ``cross_subject`` fold ``k`` tests on the ``k``-th."""
    return sorted(set(subjects))


def _tail(n: int, frac: float) -> int:
    """Rows in the last ``frac`` of ``n`` rows, rounded half up."""
    return int(np.floor(n * frac + 0.5))


def _check_options(split: str, fold: int, subjects: Sequence[str], val_frac: float, test_frac: float) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and val_frac + test_frac < 1):
        raise ValueError(f"val_frac {val_frac} and test_frac {test_frac} must be >= 0 with a sum below 1")
    folds = 1 if split == "paper" else len(subject_ids(subjects))
    if int(fold) != fold or not 0 <= fold < folds:
        raise ValueError(
            f"split {split!r} fold {fold}: no such fold (folds 0 .. {folds - 1}"
            + (f"; subjects {', '.join(subject_ids(subjects))})" if split == "cross_subject" else ")")
        )


def split_parts(
    bounds: Sequence[tuple[int, int]],
    subjects: Sequence[str],
    n_rows: int,
    split: str = "paper",
    fold: int = 0,
    val_frac: float = 0.1,
    test_frac: float = 0.1,
) -> np.ndarray:
    """Part of each of ``n_rows`` rows (int8: TRAIN, VAL, TEST; UNUSED outside every session).

    Args:
        bounds: each session's rows ``[start, stop)`` (manifest ``sessions[i]["rows"]``).
        subjects: each session's subject id.
        split: ``paper`` or ``cross_subject`` (see the module docstring).
        fold: ``cross_subject``: index of the test subject in the sorted subject ids.
        val_frac, test_frac: fractions of a session's rows for validation and (paper) test.
    """
    if len(bounds) != len(subjects):
        raise ValueError(f"{len(bounds)} sessions but {len(subjects)} subjects")
    _check_options(split, fold, subjects, val_frac, test_frac)
    parts = np.full(n_rows, UNUSED, dtype=np.int8)
    held_out = subject_ids(subjects)[fold] if split == "cross_subject" else None
    for (start, stop), subject in zip(bounds, subjects, strict=True):
        if not 0 <= start <= stop <= n_rows:
            raise ValueError(f"session rows [{start}, {stop}) do not fit {n_rows} rows")
        if subject == held_out:
            parts[start:stop] = TEST
            continue
        n = stop - start
        test = 0 if held_out is not None else _tail(n, test_frac)
        val = _tail(n, val_frac)
        parts[start:stop] = TRAIN
        parts[stop - test - val : stop - test] = VAL
        parts[stop - test : stop] = TEST
    return parts


def split_windows(
    parts: np.ndarray,
    valid: np.ndarray,
    segment_ids: np.ndarray,
    length: int,
    strides: Mapping[str, int],
) -> dict[str, np.ndarray]:
    """Window starts (int64) per part: ``length`` valid rows in one run of ``segment_ids`` and one part.

    ``strides`` gives each part's stride (see :func:`lofi.data.windows.valid_window_starts`).
    """
    runs = run_ids(segment_ids, parts)
    return {
        name: valid_window_starts(valid & (parts == k), runs, length, strides[name])
        for k, name in enumerate(PARTS)
    }


def make_split(
    bounds: Sequence[tuple[int, int]],
    subjects: Sequence[str],
    valid: np.ndarray,
    segment_ids: np.ndarray,
    length: int,
    split: str = "paper",
    fold: int = 0,
    strides: Mapping[str, int] | None = None,
    val_frac: float = 0.1,
    test_frac: float = 0.1,
) -> SplitWindows:
    """Parts and windows of one split; a part without windows is a ValueError naming the split.

    ``strides`` defaults to 1 for training (every usable window, for random draws) and
    ``length`` for validation and test (fixed, non-overlapping windows).
    """
    strides = {"train": 1, "val": length, "test": length, **(strides or {})}
    parts = split_parts(bounds, subjects, len(valid), split, fold, val_frac, test_frac)
    starts = split_windows(parts, np.asarray(valid, dtype=bool), segment_ids, length, strides)
    empty = [name for name in PARTS if len(starts[name]) == 0]
    if empty:
        windows = ", ".join(f"{name} {len(starts[name])}" for name in PARTS)
        rows = ", ".join(f"{name} {int((parts == k).sum())}" for k, name in enumerate(PARTS))
        raise ValueError(
            f"split {split!r} fold {fold}: no {' / '.join(empty)} windows of {length} rows "
            f"(windows: {windows}; rows: {rows}; label-valid rows: {int(np.sum(valid))})"
        )
    return SplitWindows(split, int(fold), int(length), parts, starts)
