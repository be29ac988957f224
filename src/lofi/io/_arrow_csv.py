"""Arrow CSV reads of normalised CSI rows: metadata fields plus the data array.

Two ways in. The *wide* read is the fast path for comma-separated arrays that all
have the same length (the esp-radar and current esp-csi logs): quoting is switched
off so every array value becomes its own int16 column, parsed by Arrow's
multi-threaded C++ reader. Anything else takes the *generic* read: the array stays
one string field and is parsed by :mod:`lofi.io._int_arrays`.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lofi.io._csi_lines import RowBatch
from lofi.io._int_arrays import TOO_LONG, parse_int_arrays

_BLOCK_SIZE = 1 << 23


@dataclass
class FieldTable:
    """Metadata fields (strings) and the data arrays of a batch's rows.

    ``matrices`` maps a value count to (row positions, int16 matrix rows x count);
    rows whose array is malformed appear in ``malformed`` and in no matrix.
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


def _csv_options(names: list[str], types: dict[str, pa.DataType], on_invalid, quoting: bool):
    return dict(
        read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(
            invalid_row_handler=on_invalid, quote_char='"' if quoting else False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def _read_wide(batch: RowBatch) -> FieldTable | None:
    prefix = [c for c in batch.columns if c != "data"]
    if batch.columns[-1] != "data" or batch.n_rows == 0:
        return None
    first_row = batch.blob[: batch.blob.find(b"\n")]
    data_at = first_row.find(b"[")
    if data_at < 0 or b" " in first_row[data_at:].strip(b' "]\n'):
        return None
    n_values = first_row[data_at:].count(b",") + 1
    values = [f"v{i}" for i in range(n_values)]
    types = _string_types(prefix + values[:1] + values[-1:]) | {v: pa.int16() for v in values[1:-1]}
    invalid = Counter()

    def on_invalid(_row: pacsv.InvalidRow) -> str:
        invalid["rows"] += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(batch.blob), **_csv_options(prefix + values, types, on_invalid, False)
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if invalid or table.num_rows != batch.n_rows:
        return None
    matrix = np.empty((table.num_rows, n_values), dtype=np.int16)
    try:
        matrix[:, 0] = _trimmed_int(table.column(values[0]), '"[')
        matrix[:, -1] = _trimmed_int(table.column(values[-1]), ']"')
    except (pa.ArrowInvalid, ValueError):
        return None
    for j, name in enumerate(values[1:-1], start=1):
        column = table.column(name)
        if column.null_count:  # an empty value: let the generic path judge the row
            return None
        matrix[:, j] = column.to_numpy()
    fields = table.select(prefix)
    rows = np.arange(table.num_rows)
    return FieldTable(fields, {n_values: (rows, matrix)}, np.zeros(table.num_rows, dtype=bool))


def _trimmed_int(column: pa.ChunkedArray, chars: str) -> np.ndarray:
    text = pc.utf8_trim(column, chars)
    if not pc.all(pc.match_substring_regex(text, r"^\s*-?\d{1,3}\s*$")).as_py():
        raise ValueError("not an integer")
    return pc.cast(pc.utf8_trim_whitespace(text), pa.int16()).to_numpy()


def _read_generic(batch: RowBatch, skipped: Counter) -> FieldTable | None:
    def on_invalid(_row: pacsv.InvalidRow) -> str:
        skipped["field_count"] += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(batch.blob),
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
