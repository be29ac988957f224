"""Arrow CSV reads of normalised CSI rows: metadata fields plus the data array.

Two ways in. The *wide* read is the fast path for comma-separated arrays that all
have the same length (the esp-radar and current esp-csi logs): quoting is switched
off so every array value becomes its own int8 column, parsed by Arrow's
multi-threaded C++ reader (a value outside -128..127 fails the read). Anything else
takes the *generic* read: the array stays one string field and is parsed by
:mod:`lofi.io.esp32.int_arrays`.

Metadata fields are read as text and converted afterwards (:func:`typed_column`),
so that one bad value marks one row instead of failing the whole read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lofi.io.esp32.int_arrays import TOO_LONG, parse_int_arrays
from lofi.io.esp32.layouts import FLOAT_COLUMNS, HOST_TIME_COLUMN, INT_COLUMNS, MAC_COLUMN
from lofi.io.esp32.lines import RowBatch

_BLOCK_SIZE = 1 << 23
#: Smaller blocks keep both cores busy on the wide read (1-2 MiB measured fastest).
_WIDE_BLOCK_SIZE = 1 << 21


@dataclass
class FieldTable:
    """Metadata fields (strings) and the data arrays of a batch's rows.

    ``matrices`` maps a value count to (row positions, value matrix rows x count):
    int8 from the wide read (a Fortran-ordered view), int16 from the generic one
    (whose values may still be out of the int8 range, see :func:`out_of_int8`).
    Rows whose array is malformed appear in ``malformed`` and in no matrix.
    """

    fields: pa.Table
    matrices: dict[int, tuple[np.ndarray, np.ndarray]]
    malformed: np.ndarray


def read_fields(batch: RowBatch, skipped: Counter) -> FieldTable | None:
    """Read a batch, trying the wide fast path first; ``None`` if nothing parses."""
    wide = _read_wide(batch)
    return wide if wide is not None else _read_generic(batch, skipped)


def _string_types(names: list[str]) -> dict[str, pa.DataType]:
    return {name: pa.string() for name in names}


def _csv_options(
    names: list[str], types: dict[str, pa.DataType], on_invalid, quoting: bool, block_size: int = _BLOCK_SIZE
):
    return dict(
        read_options=pacsv.ReadOptions(column_names=names, block_size=block_size),
        parse_options=pacsv.ParseOptions(
            invalid_row_handler=on_invalid, quote_char='"' if quoting else False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,  # a batch is valid UTF-8 by construction (see RowBatch)
        ),
    )


def _read_wide(batch: RowBatch) -> FieldTable | None:
    prefix = [c for c in batch.columns if c != "data"]
    if batch.columns[-1] != "data" or batch.n_rows == 0:
        return None
    first_row = batch.first_row()
    data_at = first_row.find(b"[")
    if data_at < 0 or b" " in first_row[data_at:].strip(b' "]\n'):
        return None
    n_values = first_row[data_at:].count(b",") + 1
    values = [f"v{i}" for i in range(n_values)]
    types = _string_types(prefix + values[:1] + values[-1:]) | {v: pa.int8() for v in values[1:-1]}
    invalid = Counter()

    def on_invalid(_row: pacsv.InvalidRow) -> str:
        invalid["rows"] += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            batch.rows(),
            **_csv_options(prefix + values, types, on_invalid, False, _WIDE_BLOCK_SIZE),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if invalid or table.num_rows != batch.n_rows:
        return None
    by_value = np.empty((n_values, table.num_rows), dtype=np.int8)  # filled one value at a time
    try:
        by_value[0] = _trimmed_int(table.column(values[0]), '"[')
        by_value[-1] = _trimmed_int(table.column(values[-1]), ']"')
    except (pa.ArrowInvalid, ValueError):
        return None
    for j, name in enumerate(values[1:-1], start=1):
        column = table.column(name)
        if column.null_count:  # an empty value: let the generic path judge the row
            return None
        by_value[j] = column.to_numpy()
    fields = table.select(prefix)
    rows = np.arange(table.num_rows)
    return FieldTable(fields, {n_values: (rows, by_value.T)}, np.zeros(table.num_rows, dtype=bool))


def _trimmed_int(column: pa.ChunkedArray, chars: str) -> np.ndarray:
    text = pc.utf8_trim(column, chars)
    if not pc.all(pc.match_substring_regex(text, r"^\s*-?\d{1,3}\s*$")).as_py():
        raise ValueError("not an integer")
    return pc.cast(pc.utf8_trim_whitespace(text), pa.int8()).to_numpy()


def _read_generic(batch: RowBatch, skipped: Counter) -> FieldTable | None:
    def on_invalid(_row: pacsv.InvalidRow) -> str:
        skipped["field_count"] += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            batch.rows(),
            **_csv_options(batch.columns, _string_types(batch.columns), on_invalid, True),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        skipped["unparseable_block"] += batch.n_rows
        return None
    if table.num_rows == 0:
        return None
    parsed = _parse_data_column(table.column("data"))
    matrices = {}
    ok = ~parsed.malformed
    for count in np.unique(parsed.counts[ok]):
        rows = np.flatnonzero(ok & (parsed.counts == count))
        index = parsed.starts[rows, None] + np.arange(count)[None, :]
        matrices[int(count)] = (rows, parsed.values[index])
    return FieldTable(table.drop_columns(["data"]), matrices, parsed.malformed)


def _parse_data_column(column: pa.ChunkedArray):
    array = column.combine_chunks().cast(pa.large_string())
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return parse_int_arrays(data, offsets)


def out_of_int8(matrix: np.ndarray) -> np.ndarray:
    """Rows of a value matrix holding a value outside -128..127 (or too long)."""
    return ((matrix < -128) | (matrix > 127) | (matrix == TOO_LONG)).any(axis=1)


# -- metadata fields -------------------------------------------------------------------

_INT_TEXT = r"^\s*[-+]?\d{1,18}\s*$"
_FLOAT_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_DATE_TIME_TEXT = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$"
_MAC_TEXT = r"^\s*[0-9A-Fa-f]{2}((:[0-9A-Fa-f]{2}){5}|(-[0-9A-Fa-f]{2}){5})\s*$"

#: Epoch host times, told apart by magnitude: (upper bound, units per second). A value
#: below 1e11 is seconds (1e11 s is the year 5138; 1e11 ms is 1973), below 1e14
#: milliseconds, below 1e17 microseconds, below 1e20 nanoseconds. Negative, non-finite
#: and larger values are not host times.
EPOCH_UNITS: tuple[tuple[float, float], ...] = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9))

Values = np.ndarray | pa.ChunkedArray


def typed_column(name: str, column: pa.ChunkedArray) -> tuple[Values, np.ndarray]:
    """A metadata column (text) in its type, and a mask of the rows whose value parsed.

    Integer columns become int64 (0 where a value did not parse), float columns
    float64 and the host time float seconds since 1970 (both NaN where a value did not
    parse). The MAC column stays Arrow text, null where a value is not a MAC address;
    other text columns pass through unchecked.
    """
    if name in INT_COLUMNS:
        return _to_number(column, pa.int64(), _INT_TEXT)
    if name in FLOAT_COLUMNS:
        values, ok = _to_number(column, pa.float64(), _FLOAT_TEXT)
        return np.where(ok, values, np.nan), ok
    if name == HOST_TIME_COLUMN:
        seconds = host_seconds(column)
        return seconds, np.isfinite(seconds)
    if name == MAC_COLUMN:
        return _valid_macs(column)
    return column, np.ones(len(column), dtype=bool)


def _matches(column: pa.ChunkedArray, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False)


def _to_number(column: pa.ChunkedArray, dtype: pa.DataType, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Cast the whole column at once; if that fails, only the values matching ``pattern``."""
    try:
        return pc.cast(column, dtype).to_numpy(), np.ones(len(column), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    trimmed = pc.utf8_trim_whitespace(column)
    try:
        return pc.cast(trimmed, dtype).to_numpy(), np.ones(len(column), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = _matches(trimmed, pattern)
        cleaned = pc.if_else(pa.array(ok), trimmed, pa.scalar("0"))
        return pc.cast(cleaned, dtype).to_numpy(), ok


def _valid_macs(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray]:
    """The MAC column with every value that is not ``xx:xx:xx:xx:xx:xx`` (or ``-``) set to null.

    Each distinct value is checked once (a log holds few transmitters).
    """
    distinct = pc.unique(column)
    valid = distinct.filter(pc.match_substring_regex(distinct, _MAC_TEXT))
    ok = pc.is_in(column, value_set=valid).to_numpy(zero_copy_only=False)
    if ok.all():
        return column, ok
    return pc.if_else(pa.array(ok), column, pa.scalar(None, pa.string())), ok


def host_seconds(column: pa.ChunkedArray) -> np.ndarray:
    """Host timestamps as float seconds since 1970 (NaN where a value is no host time).

    A value is a date-time (``%Y-%m-%d %H:%M:%S.%f``, a ``T`` allowed, no time zone
    applied) or an epoch number in s, ms, us or ns, told apart by magnitude
    (:data:`EPOCH_UNITS`).
    """
    trimmed = pc.utf8_trim_whitespace(column)
    try:
        return pc.cast(trimmed, pa.timestamp("us")).cast(pa.int64()).to_numpy() / 1e6
    except pa.ArrowInvalid:
        pass
    try:
        return epoch_seconds(pc.cast(trimmed, pa.float64()).to_numpy())
    except pa.ArrowInvalid:
        return _host_seconds_one_by_one(trimmed)


def epoch_seconds(values: np.ndarray) -> np.ndarray:
    """Seconds since 1970 of epoch numbers in s, ms, us or ns (:data:`EPOCH_UNITS`); else NaN."""
    values = np.asarray(values, dtype=np.float64)
    seconds = np.full(values.shape, np.nan)
    lower = 0.0
    for upper, per_second in EPOCH_UNITS:
        pick = (values >= lower) & (values < upper)
        seconds[pick] = values[pick] / per_second
        lower = upper
    return seconds


def _host_seconds_one_by_one(trimmed: pa.ChunkedArray) -> np.ndarray:
    """:func:`host_seconds` for a column that mixes date-times, numbers and other text."""
    seconds = np.full(len(trimmed), np.nan)
    number = np.flatnonzero(_matches(trimmed, _FLOAT_TEXT))
    if len(number):
        text = trimmed.take(pa.array(number)).to_pylist()
        seconds[number] = epoch_seconds(np.array([float(t) for t in text]))
    date_time = np.flatnonzero(_matches(trimmed, _DATE_TIME_TEXT))
    if len(date_time):
        text = pd.Series(trimmed.take(pa.array(date_time)).to_pylist(), dtype=object)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        good = parsed.notna().to_numpy()
        micros = parsed.to_numpy("datetime64[us]").astype(np.int64)
        seconds[date_time[good]] = micros[good] / 1e6
    return seconds
