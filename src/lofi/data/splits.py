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
* ``cross_point``: leave one surveyed point out, for sessions each recorded at one marked floor
  point (manifest ``position_m``). Points are the distinct ``(x, y)`` rounded to the mm, sorted;
  ``fold`` picks the test point, all of whose sessions are test; the next point in that order (the
  first after the last) is validation, whole sessions too; the rest training. Folds are built
  as ``cross_subject``'s are, with points in place of subjects; at least 3 points are needed.

Fractions count a session's rows (labelled or not); the cut is rounded to the nearest row.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lofi.data.windows import run_ids, valid_window_starts
from lofi.io.constants import PARTS, SPLITS

TRAIN, VAL, TEST = 0, 1, 2
#: Part of rows that belong to no part.
UNUSED = -1
#: Surveyed points are compared rounded to this many decimals of a metre (the mm): two points are
#: the same point when both coordinates round to the same mm (0.5004 and 0.4996 m do; 0.5004 and
#: 0.5006 m, 0.2 mm apart, do not: they round to 0.500 and 0.501 m).
POINT_DECIMALS = 3
#: ``cross_point`` needs a test point, a validation point and at least one training point.
MIN_POINTS = 3


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


def subject_ids(subjects: Sequence[Hashable]) -> list:
    """The distinct subject ids (or point keys), sorted: fold ``k`` tests on the ``k``-th."""
    return sorted(set(subjects))


Point = tuple[float, float]


def session_points(manifest: Mapping) -> list[Point | None]:
    """Each session's surveyed point ``(x, y)`` (m) from a manifest's ``position_m``; None without.

    A ``position_m`` that is not two finite numbers is a ValueError naming the session."""
    points: list[Point | None] = []
    for k, entry in enumerate(manifest.get("sessions") or []):
        value = entry.get("position_m") if isinstance(entry, Mapping) else None
        if value is None:
            points.append(None)
            continue
        point = np.asarray(value, dtype=object)
        numbers = point.shape == (2,) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in point
        )
        if not numbers:
            raise ValueError(f"manifest sessions[{k}]: position_m: expected [x, y] in m, got {value!r}")
        points.append((float(point[0]), float(point[1])))
    return points


def _point_keys(points: Sequence[Point | None] | None, n_sessions: int) -> list[Point]:
    """Each session's point rounded to :data:`POINT_DECIMALS`; every session must have one, and
    there must be at least :data:`MIN_POINTS` distinct points."""
    points = [None] * n_sessions if points is None else list(points)
    if len(points) != n_sessions:
        raise ValueError(f"{n_sessions} sessions but {len(points)} surveyed points")
    missing = [k for k, p in enumerate(points) if p is None]
    if missing:
        raise ValueError(
            f"split 'cross_point' needs every session recorded at a surveyed point (position_m), but "
            f"{len(missing)} of {n_sessions} session(s) have none (the first: session {missing[0]} of the "
            "data set): build the data set from surveyed-point sessions only"
        )
    keys = [(round(float(x), POINT_DECIMALS), round(float(y), POINT_DECIMALS)) for x, y in points]
    distinct = subject_ids(keys)
    if len(distinct) < MIN_POINTS:
        raise ValueError(
            f"split 'cross_point' needs sessions at {MIN_POINTS} or more distinct points (one to test, one "
            f"to validate, the rest to train), got {len(distinct)}: {_point_list(distinct)}"
        )
    return keys


def _point_list(points: Sequence[Point]) -> str:
    return ", ".join(f"({x:g}, {y:g})" for x, y in points)


def _groups(split: str, subjects: Sequence[str], points: Sequence[Point | None] | None) -> list | None:
    """What a fold holds out, per session: subjects (cross_subject), points (cross_point), or None."""
    if split == "cross_subject":
        return list(subjects)
    if split == "cross_point":
        return _point_keys(points, len(subjects))
    return None


def _tail(n: int, frac: float) -> int:
    """Rows in the last ``frac`` of ``n`` rows, rounded half up."""
    return int(np.floor(n * frac + 0.5))


def _check_options(split: str, val_frac: float, test_frac: float) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if not (0 <= val_frac < 1 and 0 <= test_frac < 1 and val_frac + test_frac < 1):
        raise ValueError(f"val_frac {val_frac} and test_frac {test_frac} must be >= 0 with a sum below 1")


def _check_fold(split: str, fold: int, groups: list | None) -> None:
    """``fold`` indexes the sorted held-out groups (the one fold of ``paper``), or a clear error."""
    order = subject_ids(groups) if groups is not None else []
    folds = len(order) or 1
    if int(fold) != fold or not 0 <= fold < folds:
        named = ""
        if split == "cross_subject":
            named = f"; subjects {', '.join(order)}"
        elif split == "cross_point":
            named = f"; points {_point_list(order)}"
        raise ValueError(f"split {split!r} fold {fold}: no such fold (folds 0 .. {folds - 1}{named})")


def split_parts(
    bounds: Sequence[tuple[int, int]],
    subjects: Sequence[str],
    n_rows: int,
    split: str = "paper",
    fold: int = 0,
    val_frac: float = 0.1,
    test_frac: float = 0.1,
    points: Sequence[Point | None] | None = None,
) -> np.ndarray:
    """Part of each of ``n_rows`` rows (int8: TRAIN, VAL, TEST; UNUSED outside every session).

    Args:
        bounds: each session's rows ``[start, stop)`` (manifest ``sessions[i]["rows"]``).
        subjects: each session's subject id.
        split: ``paper``, ``cross_subject`` or ``cross_point`` (see the module docstring).
        fold: index of the test subject (cross_subject) or point (cross_point) in sorted order.
        val_frac, test_frac: fractions of a session's rows for validation and (paper) test.
        points: each session's surveyed point ``(x, y)`` in m (:func:`session_points`);
            ``cross_point`` only.
    """
    if len(bounds) != len(subjects):
        raise ValueError(f"{len(bounds)} sessions but {len(subjects)} subjects")
    _check_options(split, val_frac, test_frac)
    groups = _groups(split, subjects, points)
    _check_fold(split, fold, groups)
    parts = np.full(n_rows, UNUSED, dtype=np.int8)
    order = subject_ids(groups) if groups is not None else []
    held_out = order[fold] if order else None
    validate = order[(fold + 1) % len(order)] if split == "cross_point" else None
    for k, (start, stop) in enumerate(bounds):
        if not 0 <= start <= stop <= n_rows:
            raise ValueError(f"session rows [{start}, {stop}) do not fit {n_rows} rows")
        group = groups[k] if groups is not None else None
        if held_out is not None and group == held_out:
            parts[start:stop] = TEST
            continue
        if validate is not None:
            parts[start:stop] = VAL if group == validate else TRAIN
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
    points: Sequence[Point | None] | None = None,
) -> SplitWindows:
    """Parts and windows of one split; a part without windows is a ValueError naming the split.

    ``strides`` defaults to 1 for training (every usable window, for random draws) and
    ``length`` for validation and test (fixed, non-overlapping windows). ``points``: each
    session's surveyed point (m), which ``cross_point`` holds out (see :func:`split_parts`).
    """
    strides = {"train": 1, "val": length, "test": length, **(strides or {})}
    parts = split_parts(bounds, subjects, len(valid), split, fold, val_frac, test_frac, points)
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
