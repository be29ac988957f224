"""Parquet tables whose rows carry fixed-length vectors (e.g. 52 subcarrier amplitudes).

A matrix column is stored as a parquet ``FixedSizeList<float32>``, so a whole
column comes back as one contiguous ``rows x width`` numpy array without a copy per
row: training slices windows straight out of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi.io.atomic import atomic_open


class TableFileError(ValueError):
    """A derived parquet table is missing, unreadable or lacks a required column."""


def to_arrow(scalars: pd.DataFrame, matrices: Mapping[str, np.ndarray]) -> pa.Table:
    """One arrow table: the scalar columns, then each ``rows x width`` matrix as a list column."""
    table = pa.Table.from_pandas(scalars, preserve_index=False)
    for name, matrix in matrices.items():
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or len(matrix) != len(scalars):
            raise ValueError(f"matrix column {name!r}: shape {matrix.shape} does not fit {len(scalars)} rows")
        flat = pa.array(matrix.reshape(-1), type=pa.float32())
        table = table.append_column(name, pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1]))
    return table.replace_schema_metadata(None)


def write_arrow(path: str | os.PathLike[str], table: pa.Table, row_group_size: int | None = None) -> None:
    """Write an arrow table atomically: zstd, dictionary encoding for text columns only.

    (Dictionary-encoding float columns costs time and saves nothing: their values rarely repeat.)
    """
    text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    with atomic_open(path, "wb") as handle:
        pq.write_table(table, handle, compression="zstd", use_dictionary=text, row_group_size=row_group_size)


def read_matrix_table(
    path: str | os.PathLike[str], matrix_columns: tuple[str, ...], required: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Read a table of scalars and :func:`to_arrow` matrix columns: a DataFrame and arrays."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise TableFileError(f"{path}: cannot read parquet table ({err})") from err
    missing = [c for c in (*matrix_columns, *required) if c not in table.column_names]
    if missing:
        raise TableFileError(f"{path}: missing column(s) {', '.join(missing)}")
    matrices = {name: matrix_column(table.column(name), f"{path}: column {name}") for name in matrix_columns}
    scalars = table.drop_columns(list(matrix_columns)).to_pandas()
    return scalars, matrices


def matrix_column(column: pa.ChunkedArray, where: str = "table") -> np.ndarray:
    """A FixedSizeList column as a ``rows x width`` float32 array."""
    if not pa.types.is_fixed_size_list(column.type):
        raise TableFileError(f"{where} is of type {column.type}, not a fixed-size list of values per row")
    width = column.type.list_size
    combined = column.combine_chunks()
    values = combined.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(len(combined), width)
