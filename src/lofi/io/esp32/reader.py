"""Read ESP32 CSI logs (every esp-csi, esp-radar and ESP32-CSI-Tool layout).

>>> log = read_csi_log("session/csi.csv")          # doctest: +SKIP
>>> log.table[["t_host", "t_device", "rssi"]]       # doctest: +SKIP
>>> abs(log.csi)                                    # 52 LLTF amplitudes per row

Columns are chosen by header name; header-less captures are recognised from the
row shape. Damaged lines are skipped and counted per reason in ``log.report``;
input text is never evaluated. A row is dropped only when it has no usable data
array or device time (``local_timestamp``) or a bad int64 radio field; a bad
optional field (host time, MAC, ``real_timestamp``: :data:`OPTIONAL_FIELDS`) is
set to NaN and counted in ``log.report.field_problems`` instead. Each subcarrier
is read as (imaginary, real), the ESP-IDF order. Host times are read from
date-times or epoch numbers (s, ms, us or ns, told apart by magnitude:
:data:`lofi.io.esp32.arrow_csv.EPOCH_UNITS`). Schema of the table:
:data:`lofi.io.schema.CSI_LOG_COLUMNS`.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from lofi.io.esp32.arrow_csv import FieldTable, Values, out_of_int8, read_fields, typed_column
from lofi.io.esp32.layouts import (
    DEVICE_TIME_COLUMN,
    FIRST_WORD_INVALID_BY_DEFAULT,
    HOST_TIME_COLUMN,
    LLTF_USEFUL,
    OPTIONAL_FIELDS,
    all_pairs,
    buffer_blocks,
    default_pairs,
    first_word_pairs,
    known_lengths,
    subcarrier_names,
)
from lofi.io.esp32.lines import RowBatch, split_capture

SubcarrierSet = Literal["default", "all"]
_WRAP = 1 << 32
_ROWS_PER_BLOCK = 8192  # rows converted at once: small temporaries that stay in the cache


class CsiReadError(OSError):
    """The CSI log cannot be opened at all (missing, a folder, unreadable)."""


@dataclass
class ReadReport:
    """What the reader kept, what it skipped and why.

    ``skipped_by_reason`` counts dropped lines or rows per reason; ``field_problems``
    counts kept rows whose optional field did not parse and was set to NaN (missing,
    for text), per reason: ``bad_host_time``, ``bad_mac``, ``bad_real_timestamp``.
    """

    source: str
    layout: str = "unknown"
    lines: int = 0
    rows: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    field_problems: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    examples: list[tuple[int, str, str]] = field(default_factory=list)
    empty_reason: str | None = None

    @property
    def skipped(self) -> int:
        """Total number of skipped lines or rows."""
        return sum(self.skipped_by_reason.values())

    @property
    def repaired(self) -> int:
        """Total number of optional fields set to NaN in kept rows."""
        return sum(self.field_problems.values())


@dataclass
class CsiLog:
    """A parsed CSI log: metadata table, complex CSI matrix and the read report."""

    table: pd.DataFrame
    csi: np.ndarray
    subcarriers: list[str]
    report: ReadReport

    @property
    def layout(self) -> str:
        """Name of the detected log layout."""
        return self.report.layout

    def __len__(self) -> int:
        return len(self.table)


def read_csi_log(
    path: str | os.PathLike[str],
    *,
    subcarriers: SubcarrierSet = "default",
    legacy_pairing: bool = False,
    first_word_invalid: bool | None = None,
) -> CsiLog:
    """Read an ESP32 CSI CSV file.

    Args:
        path: the CSV file.
        subcarriers: ``default`` gives the 52 useful LLTF subcarriers -26..-1, +1..+26;
            ``all`` gives every pair of every buffer block (NaN where a row lacks it).
        legacy_pairing: pair bytes as the LoFi reference code did (real = x[2i],
            imag = x[2i-1], wrapping at i = 0) to compare with its published pickles.
        first_word_invalid: force the first-word flag on or off; ``None`` uses the
            logged flag, or the layout's default where it is not logged.

    Raises:
        CsiReadError: the path is missing, not a file, or unreadable.
    """
    source = Path(path)
    if not source.exists():
        raise CsiReadError(f"{source}: no such file")
    if not source.is_file():
        raise CsiReadError(f"{source}: not a file")
    try:
        raw = source.read_bytes()
    except OSError as err:
        raise CsiReadError(f"{source}: cannot read ({err.strerror or err})") from err
    return read_csi_bytes(
        raw,
        source=str(source),
        subcarriers=subcarriers,
        legacy_pairing=legacy_pairing,
        first_word_invalid=first_word_invalid,
    )


def read_csi_bytes(
    raw: bytes,
    *,
    source: str = "<bytes>",
    subcarriers: SubcarrierSet = "default",
    legacy_pairing: bool = False,
    first_word_invalid: bool | None = None,
) -> CsiLog:
    """Parse the bytes of a CSI log; see :func:`read_csi_log`."""
    if subcarriers not in ("default", "all"):
        raise ValueError(f"subcarriers must be 'default' or 'all', not {subcarriers!r}")
    batches, lines = split_capture(raw)
    report = ReadReport(source=source, lines=lines.lines, examples=lines.examples)
    tally = _Tally(Counter(lines.skipped), Counter(), Counter(lines.notes))
    options = _Options(subcarriers, legacy_pairing, first_word_invalid)
    parts = [_parse_batch(batch, options, tally) for batch in batches]
    parts = [p for p in parts if p is not None and len(p.table)]
    log = _combine(parts, options, report)
    report.skipped_by_reason = dict(sorted(tally.skipped.items()))
    report.field_problems = dict(sorted(tally.field_problems.items()))
    report.notes = dict(sorted(tally.notes.items()))
    report.rows = len(log.table)
    if parts:
        report.layout = Counter({p.layout: len(p.table) for p in parts}).most_common(1)[0][0]
    elif batches:
        report.layout = batches[0].layout
    if report.rows == 0:
        report.empty_reason = _empty_reason(raw, report)
    return log


@dataclass(frozen=True)
class _Options:
    subcarriers: SubcarrierSet
    legacy_pairing: bool
    first_word_invalid: bool | None


@dataclass
class _Tally:
    """Counters filled while parsing: rows dropped, optional fields repaired, notes."""

    skipped: Counter
    field_problems: Counter
    notes: Counter


@dataclass
class _Part:
    layout: str
    table: pd.DataFrame
    names: list[str]
    csi: np.ndarray


def _empty_reason(raw: bytes, report: ReadReport) -> str:
    if not raw.strip():
        return "the file is empty"
    sample = raw[:4096]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) // 10:
        return "the file looks binary, not a text CSI log"
    if report.skipped:
        reasons = ", ".join(f"{k}: {v}" for k, v in report.skipped_by_reason.items())
        return f"no line is a complete CSI row ({reasons})"
    return "no CSI_DATA rows found"


# -- one batch -------------------------------------------------------------------------


def _parse_batch(batch: RowBatch, options: _Options, tally: _Tally) -> _Part | None:
    """Typed table and CSI of a batch's usable rows; every dropped row and repaired field counted."""
    read = read_fields(batch, tally.skipped)
    if read is None:
        return None
    keep = np.ones(read.fields.num_rows, dtype=bool)
    columns, unparsed = _typed_fields(read.fields)
    _drop(keep, tally.skipped, "bad_local_timestamp", unparsed.get(DEVICE_TIME_COLUMN))
    essential = [bad for name, bad in unparsed.items() if _is_essential(name)]
    _drop(keep, tally.skipped, "bad_field", np.logical_or.reduce(essential) if essential else None)
    if DEVICE_TIME_COLUMN not in columns:
        tally.skipped["no_local_timestamp"] += int(keep.sum())
        return None
    _drop(keep, tally.skipped, "bad_array", read.malformed)
    n_values, matrices = _complete_buffers(read, batch.layout, keep, tally.skipped)
    for name, bad in unparsed.items():
        if name in OPTIONAL_FIELDS:
            _count(tally.field_problems, OPTIONAL_FIELDS[name], keep & bad)
    frame = _kept_frame(columns, keep)
    frame["n_values"] = n_values[keep]
    if "len" in frame:
        tally.notes["len_differs_from_values"] += int((frame["len"] != frame["n_values"]).sum())
    frame["first_word_invalid"] = _first_word_flags(frame, batch.layout, options)
    names, csi = _extract_csi(batch.layout, frame, matrices, options)
    return _Part(batch.layout, frame, names, csi)


def _typed_fields(fields: pa.Table) -> tuple[dict[str, Values], dict[str, np.ndarray]]:
    """Every metadata column in its type, and per column the rows whose value did not parse."""
    columns: dict[str, Values] = {}
    unparsed: dict[str, np.ndarray] = {}
    for name in fields.column_names:
        columns[name], ok = typed_column(name, fields.column(name))
        if not ok.all():
            unparsed[name] = ~ok
    return columns, unparsed


def _is_essential(name: str) -> bool:
    """A field (the int64 radio metadata) whose bad value drops the row as ``bad_field``."""
    return name != DEVICE_TIME_COLUMN and name not in OPTIONAL_FIELDS


def _drop(keep: np.ndarray, skipped: Counter, reason: str, bad: np.ndarray | None) -> None:
    """Drop the kept rows marked ``bad`` (in place), counting them under ``reason``."""
    if bad is not None:
        _count(skipped, reason, keep & bad)
        keep &= ~bad


def _complete_buffers(
    read: FieldTable, layout: str, keep: np.ndarray, skipped: Counter
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Value count of every row, and the int8 buffers of the kept rows of known length.

    Drops (in ``keep``) rows of an unknown length or with a value outside -128..127.
    The buffers are keyed by value count: (positions among the kept rows, matrix).
    """
    n_values = np.zeros(len(keep), dtype=np.int64)
    lengths = known_lengths(layout)
    for count, (rows, matrix) in read.matrices.items():
        n_values[rows] = count
        if count not in lengths:
            _count(skipped, "unknown_length", keep[rows])
            keep[rows] = False
        elif matrix.dtype != np.int8:
            bad = keep[rows] & out_of_int8(matrix)
            _count(skipped, "value_out_of_range", bad)
            keep[rows[bad]] = False
    new_index = np.cumsum(keep) - 1
    buffers = {}
    for count, (rows, matrix) in read.matrices.items():
        if count in lengths:
            kept = keep[rows]
            if not kept.all():
                rows, matrix = rows[kept], matrix[kept]
            buffers[count] = (new_index[rows], matrix.astype(np.int8, copy=False))
    return n_values, buffers


def _kept_frame(columns: dict[str, Values], keep: np.ndarray) -> pd.DataFrame:
    """The kept rows of the typed columns; text columns become pandas ``str`` columns.

    The frame takes the arrays as they are (no copy into one block per dtype).
    """
    every_row = bool(keep.all())
    mask = None if every_row else pa.array(keep)
    data: dict[str, object] = {}
    for name, values in columns.items():
        if isinstance(values, pa.ChunkedArray):
            data[name] = (values if every_row else values.filter(mask)).to_pandas()
        else:
            data[name] = np.require(values if every_row else values[keep], requirements="W")
    return pd.DataFrame(data, copy=False)


def _count(counter: Counter, reason: str, mask: np.ndarray) -> None:
    n = int(np.count_nonzero(mask))
    if n:
        counter[reason] += n


def _first_word_flags(frame: pd.DataFrame, layout: str, options: _Options) -> np.ndarray:
    if options.first_word_invalid is not None:
        return np.full(len(frame), options.first_word_invalid)
    if "first_word_invalid" in frame:
        return frame["first_word_invalid"].to_numpy() != 0
    return np.full(len(frame), layout in FIRST_WORD_INVALID_BY_DEFAULT)


# -- CSI extraction --------------------------------------------------------------------


def _extract_csi(
    layout: str,
    frame: pd.DataFrame,
    matrices: dict[int, tuple[np.ndarray, np.ndarray]],
    options: _Options,
) -> tuple[list[str], np.ndarray]:
    """Subcarrier names and complex CSI (rows x names; NaN where a row lacks one)."""
    n_rows = len(frame)
    secondary = (
        frame["secondary_channel"].to_numpy() != 0
        if "secondary_channel" in frame
        else np.zeros(n_rows, dtype=bool)
    )
    invalid_first = frame["first_word_invalid"].to_numpy()
    groups = []
    for n_values, (all_rows, all_matrix) in matrices.items():
        for sec in (False, True):
            pick = secondary[all_rows] == sec
            rows = all_rows[pick]
            blocks = buffer_blocks(layout, n_values, sec) or buffer_blocks(layout, n_values, not sec)
            if len(rows) == 0 or blocks is None:
                continue
            if options.subcarriers == "default":
                names, pairs = subcarrier_names(LLTF_USEFUL, blocks[0].name), default_pairs(blocks)
            else:
                names, pairs = all_pairs(blocks)
            matrix = all_matrix if pick.all() else all_matrix[pick]
            cells = pairs_to_complex(matrix, pairs, options.legacy_pairing)
            flagged = np.flatnonzero(invalid_first[rows])
            bad_cols = np.flatnonzero(np.isin(pairs, first_word_pairs(n_values, layout)))
            cells[np.ix_(flagged, bad_cols)] = np.nan
            groups.append((rows, names, cells))
    return _merge_columns(n_rows, groups)


def _merge_columns(
    n_rows: int, groups: list[tuple[np.ndarray, list[str], np.ndarray]]
) -> tuple[list[str], np.ndarray]:
    """Place each group's cells at its rows under the union of subcarrier names."""
    if len(groups) == 1 and len(groups[0][0]) == n_rows:
        rows, names, cells = groups[0]
        if np.array_equal(rows, np.arange(n_rows)):
            return names, cells
    names: list[str] = []
    for _, group_names, _ in groups:
        names += [n for n in group_names if n not in names]
    position = {name: j for j, name in enumerate(names)}
    out = np.full((n_rows, len(names)), np.nan, dtype=np.complex64)
    for rows, group_names, cells in groups:
        out[np.ix_(rows, [position[n] for n in group_names])] = cells
    return names, out


def pairs_to_complex(matrix: np.ndarray, pairs: np.ndarray, legacy: bool = False) -> np.ndarray:
    """Complex64 values of int8 pairs ``pairs`` of each buffer row (rows x pairs).

    ESP-IDF order: imaginary = x[2i], real = x[2i+1]. ``legacy`` reproduces the
    LoFi reference code: real = x[2i], imaginary = x[2i-1] (wrapping at i = 0).
    """
    n_values = matrix.shape[1]
    if not legacy and matrix.dtype == np.int8 and n_values % 2 == 0:
        every_pair = _int8_pairs_to_complex(matrix)
        if np.array_equal(pairs, np.arange(n_values // 2)):
            return every_pair
        return np.ascontiguousarray(every_pair[:, _as_slice(pairs)])
    if legacy:
        real_at, imag_at = 2 * pairs, (2 * pairs - 1) % n_values
    else:
        imag_at, real_at = 2 * pairs, 2 * pairs + 1
    out = np.empty((len(matrix), len(pairs)), dtype=np.complex64)
    out.real = matrix[:, _as_slice(real_at)]
    out.imag = matrix[:, _as_slice(imag_at)]
    return out


def _int8_pairs_to_complex(matrix: np.ndarray) -> np.ndarray:
    """Complex64 of every (imaginary, real) int8 pair of an int8 matrix (any memory order).

    A block of rows at a time, the two bytes of each pair are swapped to (real,
    imaginary), the memory order of complex64, and converted into the float32 output.
    """
    out = np.empty(matrix.shape, dtype=np.float32)
    for start in range(0, len(matrix), _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        pairs = np.array(matrix[rows], order="C").view(np.uint16)  # a copy, swapped in place
        out[rows] = pairs.byteswap(inplace=True).view(np.int8)
    return out.view(np.complex64)


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """An evenly stepped index as a slice (a strided view is faster than a gather)."""
    if len(index) > 1 and (step := int(index[1] - index[0])) > 0 and np.all(np.diff(index) == step):
        return slice(int(index[0]), int(index[-1]) + 1, step)
    return index


# -- combining batches -----------------------------------------------------------------


def _combine(parts: list[_Part], options: _Options, report: ReadReport) -> CsiLog:
    if not parts:
        names = subcarrier_names(LLTF_USEFUL) if options.subcarriers == "default" else []
        table = _finish_table(pd.DataFrame({"local_timestamp": np.zeros(0, np.int64)}))
        return CsiLog(table, np.zeros((0, len(names)), np.complex64), names, report)
    if len(parts) == 1:
        part = parts[0]
        return CsiLog(_finish_table(part.table), part.csi, part.names, report)
    table = pd.concat([p.table for p in parts], ignore_index=True)
    offsets = np.cumsum([0] + [len(p.table) for p in parts])
    groups = [(np.arange(offsets[i], offsets[i + 1]), p.names, p.csi) for i, p in enumerate(parts)]
    names, csi = _merge_columns(len(table), groups)
    return CsiLog(_finish_table(table), csi, names, report)


def _finish_table(table: pd.DataFrame) -> pd.DataFrame:
    """Add the derived time columns and drop the constant ``type`` column."""
    table = table.drop(columns=["type"], errors="ignore")
    table["t_device"] = unwrap_us_counter(table["local_timestamp"].to_numpy()) / 1e6
    if HOST_TIME_COLUMN in table:
        table["t_host"] = table.pop(HOST_TIME_COLUMN).astype(np.float64)
    else:
        table["t_host"] = np.full(len(table), np.nan)
    return table


def unwrap_us_counter(ticks: np.ndarray) -> np.ndarray:
    """Unwrap a 32-bit microsecond counter (wraps every 2**32 us, ~71.6 min).

    A step back of more than half the range counts as a wrap; smaller steps back
    (a reboot, reordering) are left as they are for later stages to report.
    """
    ticks = np.asarray(ticks, dtype=np.int64)
    if len(ticks) < 2:
        return ticks.astype(np.int64)
    wraps = np.concatenate(([0], np.cumsum(np.diff(ticks) < -(_WRAP // 2))))
    return ticks + wraps * _WRAP
