"""Read ESP32 CSI logs (every esp-csi, esp-radar and ESP32-CSI-Tool layout).

>>> log = read_csi_log("session/csi.csv")          # doctest: +SKIP
>>> log.table[["t_host", "t_device", "rssi"]]       # doctest: +SKIP
>>> abs(log.csi)                                    # 52 LLTF amplitudes per row

Columns are chosen by header name; header-less captures are recognised from the
row shape. Damaged lines are skipped and counted per reason in ``log.report``;
input text is never evaluated. Each subcarrier is read as (imaginary, real), the
ESP-IDF order. Schema of the table: :data:`lofi.io.schema.CSI_LOG_COLUMNS`.
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
import pyarrow.compute as pc

from lofi.io._arrow_csv import out_of_int8, read_fields
from lofi.io._csi_lines import RowBatch, split_capture
from lofi.io.csi_layouts import (
    FIRST_WORD_INVALID_BY_DEFAULT,
    FLOAT_COLUMNS,
    HOST_TIME_COLUMN,
    INT_COLUMNS,
    LLTF_USEFUL,
    all_pairs,
    buffer_blocks,
    default_pairs,
    first_word_pairs,
    known_lengths,
    subcarrier_names,
)

SubcarrierSet = Literal["default", "all"]
_WRAP = 1 << 32


class CsiReadError(OSError):
    """The CSI log cannot be opened at all (missing, a folder, unreadable)."""


@dataclass
class ReadReport:
    """What the reader kept, what it skipped and why."""

    source: str
    layout: str = "unknown"
    lines: int = 0
    rows: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    examples: list[tuple[int, str, str]] = field(default_factory=list)
    empty_reason: str | None = None

    @property
    def skipped(self) -> int:
        """Total number of skipped lines or rows."""
        return sum(self.skipped_by_reason.values())


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
    skipped: Counter = Counter(lines.skipped)
    notes: Counter = Counter(lines.notes)
    options = _Options(subcarriers, legacy_pairing, first_word_invalid)
    parts = [_parse_batch(batch, options, skipped, notes) for batch in batches]
    parts = [p for p in parts if p is not None and len(p.table)]
    log = _combine(parts, options, report)
    report.skipped_by_reason = dict(sorted(skipped.items()))
    report.notes = dict(sorted(notes.items()))
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


def _parse_batch(batch: RowBatch, options: _Options, skipped: Counter, notes: Counter) -> _Part | None:
    read = read_fields(batch, skipped)
    if read is None:
        return None
    n_rows = read.fields.num_rows
    keep = np.ones(n_rows, dtype=bool)
    columns: dict[str, np.ndarray] = {}
    for name in read.fields.column_names:
        values, ok = _typed_column(name, read.fields.column(name))
        columns[name] = values
        keep &= ok
    _count(skipped, "bad_field", ~keep)
    if "local_timestamp" not in columns:
        skipped["no_local_timestamp"] += int(keep.sum())
        return None
    _count(skipped, "bad_array", keep & read.malformed)
    keep &= ~read.malformed
    n_values = np.zeros(n_rows, dtype=np.int64)
    matrices: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    lengths = known_lengths(batch.layout)
    for count, (rows, matrix) in read.matrices.items():
        n_values[rows] = count
        if count not in lengths:
            _count(skipped, "unknown_length", keep[rows])
            keep[rows] = False
            continue
        bad = keep[rows] & out_of_int8(matrix)
        _count(skipped, "value_out_of_range", bad)
        keep[rows[bad]] = False
        matrices[count] = (rows, matrix)
    frame = pd.DataFrame({k: v[keep] for k, v in columns.items()})
    frame["n_values"] = n_values[keep]
    if "len" in frame:
        notes["len_differs_from_values"] += int((frame["len"] != frame["n_values"]).sum())
    frame["first_word_invalid"] = _first_word_flags(frame, batch.layout, options)
    new_index = np.cumsum(keep) - 1
    kept = {c: (new_index[r[keep[r]]], m[keep[r]]) for c, (r, m) in matrices.items()}
    names, csi = _extract_csi(batch.layout, frame, kept, options)
    return _Part(batch.layout, frame, names, csi)


def _typed_column(name: str, column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Column converted to its dtype, with a mask of rows whose value parsed."""
    if name in INT_COLUMNS:
        return _to_number(column, pa.int64(), r"^\s*[-+]?\d{1,18}\s*$")
    if name in FLOAT_COLUMNS:
        return _to_number(column, pa.float64(), r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
    if name == HOST_TIME_COLUMN:
        return _to_host_seconds(column)
    return column.to_numpy(zero_copy_only=False), np.ones(len(column), dtype=bool)


def _to_number(column: pa.ChunkedArray, dtype: pa.DataType, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    trimmed = pc.utf8_trim_whitespace(column)
    try:
        return pc.cast(trimmed, dtype).to_numpy(), np.ones(len(column), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.match_substring_regex(trimmed, pattern).to_numpy(zero_copy_only=False)
        cleaned = pc.if_else(pa.array(ok), trimmed, pa.scalar("0"))
        return pc.cast(cleaned, dtype).to_numpy(), ok


_HOST_TIME = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$"


def _to_host_seconds(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Host wall-clock timestamps (``%Y-%m-%d %H:%M:%S.%f``) as float seconds."""
    trimmed = pc.utf8_trim_whitespace(column)
    try:
        micros = pc.cast(trimmed, pa.timestamp("us")).cast(pa.int64()).to_numpy()
        return micros / 1e6, np.ones(len(column), dtype=bool)
    except pa.ArrowInvalid:
        pass
    ok = pc.match_substring_regex(trimmed, _HOST_TIME).to_numpy(zero_copy_only=False)
    seconds = np.full(len(column), np.nan)
    if ok.any():
        text = pd.Series(np.asarray(trimmed.to_pylist(), dtype=object)[ok])
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        good = parsed.notna().to_numpy()
        values = parsed.to_numpy("datetime64[us]").astype(np.int64) / 1e6
        seconds[np.flatnonzero(ok)[good]] = values[good]
        ok[np.flatnonzero(ok)[~good]] = False
    return np.where(ok, seconds, 0.0), ok


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
    if legacy:
        real_at, imag_at = 2 * pairs, (2 * pairs - 1) % n_values
    else:
        imag_at, real_at = 2 * pairs, 2 * pairs + 1
    out = np.empty((len(matrix), len(pairs)), dtype=np.complex64)
    out.real = matrix[:, _as_slice(real_at)]
    out.imag = matrix[:, _as_slice(imag_at)]
    return out


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
