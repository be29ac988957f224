"""Vectorised parsing of many bracketed integer arrays stored back to back.

The input is the value buffer and offsets of an Arrow string column whose cells
look like ``[1 -2 3 ]`` or ``[1,-2,3]``. Everything happens in NumPy over the raw
bytes: no per-value Python work, which is what makes the CSI reader fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SEPARATORS = b"0123456789-, \t[]"
_ALLOWED = np.zeros(256, dtype=bool)
_ALLOWED[list(_SEPARATORS)] = True
_MINUS, _OPEN, _CLOSE = ord("-"), ord("["), ord("]")
TOO_LONG = 9999  # stands in for integers of four or more digits


@dataclass
class ParsedArrays:
    """Integers of all cells, flat, with per-cell counts and validity."""

    values: np.ndarray  # int16, every integer of every cell in order
    counts: np.ndarray  # int64 per cell: how many integers it holds
    starts: np.ndarray  # int64 per cell: index of its first integer in ``values``
    malformed: np.ndarray  # bool per cell: stray characters, brackets or signs


def parse_int_arrays(data: np.ndarray, offsets: np.ndarray) -> ParsedArrays:
    """Parse cells ``data[offsets[i]:offsets[i+1]]`` (uint8 bytes) into integers.

    Integers of four or more digits become :data:`TOO_LONG` (the caller rejects
    them as out of range); stray text, a misplaced sign or bracket marks the cell
    malformed.
    """
    lo, hi = int(offsets[0]), int(offsets[-1])
    # Three leading and one trailing pad byte keep every neighbour look-up in range.
    buf = np.full(hi - lo + 4, ord(" "), dtype=np.uint8)
    buf[3:-1] = data[lo:hi]
    cell_start = (offsets[:-1] - lo + 3).astype(np.int64)
    cell_end = (offsets[1:] - lo + 3).astype(np.int64)

    digit = buf - np.uint8(48)  # 0..9 for digits, wraps to >= 10 otherwise
    is_digit = digit < 10
    ends = np.flatnonzero(is_digit[:-1] & ~is_digit[1:])
    values, first = _digit_runs(digit, ends)
    negative = buf[first - 1] == _MINUS
    values[negative] *= -1

    counts = np.searchsorted(ends, cell_end) - np.searchsorted(ends, cell_start)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    malformed = (cell_end - cell_start < 2) | _cells_with(_bad_positions(buf, is_digit), cell_start, cell_end)
    malformed |= ~_framed(buf, cell_start, cell_end)
    return ParsedArrays(values, counts.astype(np.int64), starts, malformed)


def _digit_runs(digit: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and first-digit position of each digit run ending at ``ends``."""
    d1, d2, d3 = digit[ends - 1], digit[ends - 2], digit[ends - 3]
    two = d1 < 10
    three = two & (d2 < 10)
    four = three & (d3 < 10)
    values = digit[ends].astype(np.int16)
    values += np.where(two, d1.astype(np.int16) * 10, np.int16(0))
    values += np.where(three, d2.astype(np.int16) * 100, np.int16(0))
    values[four] = TOO_LONG
    return values, ends - two - three


def _bad_positions(buf: np.ndarray, is_digit: np.ndarray) -> np.ndarray:
    """Positions of stray characters, inner brackets and misplaced minus signs."""
    stray = np.zeros(0, dtype=np.int64)
    if buf.tobytes().translate(None, _SEPARATORS):
        stray = np.flatnonzero(~_ALLOWED[buf])
    minus = np.flatnonzero(buf == _MINUS)
    bad_minus = minus[~is_digit[minus + 1] | is_digit[minus - 1]]
    return np.sort(np.concatenate((stray, bad_minus)))


def _framed(buf: np.ndarray, cell_start: np.ndarray, cell_end: np.ndarray) -> np.ndarray:
    """Each cell starts with ``[``, ends with ``]`` and has no other bracket."""
    last = np.maximum(cell_end - 1, 0)
    framed = (buf[cell_start] == _OPEN) & (buf[last] == _CLOSE)
    opens = np.flatnonzero(buf == _OPEN)
    closes = np.flatnonzero(buf == _CLOSE)
    n_open = np.searchsorted(opens, cell_end) - np.searchsorted(opens, cell_start)
    n_close = np.searchsorted(closes, cell_end) - np.searchsorted(closes, cell_start)
    return framed & (n_open == 1) & (n_close == 1)


def _cells_with(positions: np.ndarray, cell_start: np.ndarray, cell_end: np.ndarray) -> np.ndarray:
    """True for cells that contain any of the sorted ``positions``."""
    return np.searchsorted(positions, cell_end) > np.searchsorted(positions, cell_start)
