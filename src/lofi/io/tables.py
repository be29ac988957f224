"""Parquet tables: any table, and the derived per-session ``csi.parquet``, ``aligned.parquet``, positions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi.io.atomic import atomic_open
from lofi.io.matrix_table import TableFileError, read_matrix_table, write_matrix_table
from lofi.io.provenance import with_provenance
from lofi.io.schema import ALIGNED_COLUMNS, CSI_COLUMNS, CSI_MATRIX_COLUMNS, column_names

MATRICES = column_names(CSI_MATRIX_COLUMNS)
CSI_SCALARS = tuple(c for c in column_names(CSI_COLUMNS) if c not in MATRICES)
ALIGNED_SCALARS = tuple(c for c in column_names(ALIGNED_COLUMNS) if c not in MATRICES)


def write_table(path: str | os.PathLike[str], table: pd.DataFrame, provenance: dict | None = None) -> None:
    """Write a parquet table atomically, with the session it was made from (see :mod:`lofi.io.provenance`)."""
    with atomic_open(path, "wb") as handle:
        if provenance is None:
            table.to_parquet(handle, index=False)
        else:
            pq.write_table(
                with_provenance(pa.Table.from_pandas(table, preserve_index=False), provenance), handle
            )


def read_table(path: str | os.PathLike[str], what: str = "table") -> pd.DataFrame:
    """Read a parquet table, or a clear error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise TableFileError(f"{path}: no such file")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise TableFileError(f"{path}: cannot read the {what} ({err})") from err


def write_csi_table(
    path: str | os.PathLike[str], scalars: pd.DataFrame, amplitude: np.ndarray, phase: np.ndarray
) -> None:
    """Write a CSI or aligned table (scalar columns in schema order, then amplitude and phase)."""
    write_matrix_table(path, scalars, {"amplitude": amplitude, "phase": phase})


def read_csi_table(
    path: str | os.PathLike[str], aligned: bool = False
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read ``csi.parquet`` (or ``aligned.parquet``): scalars, amplitude and phase."""
    path = Path(path)
    if not path.is_file():
        raise TableFileError(f"{path}: no such file")
    required = ALIGNED_SCALARS if aligned else CSI_SCALARS
    scalars, matrices = read_matrix_table(path, MATRICES, required)
    scalars["seq"] = scalars["seq"].astype("Int64")  # parquet int64 with nulls reads back as float
    return scalars, matrices["amplitude"], matrices["phase"]


def read_positions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Floor labels per camera frame from ``positions.parquet`` or a CSV with t_host, x_m, y_m.

    A table from elsewhere (e.g. positions surveyed by hand) may omit ``frame``,
    ``valid`` and ``reason``: rows then count in order, and a label is valid when
    x and y are numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise TableFileError(f"{path}: no such file")
    try:
        table = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise TableFileError(f"{path}: cannot read positions ({err})") from err
    missing = [c for c in ("t_host", "x_m", "y_m") if c not in table.columns]
    if missing:
        raise TableFileError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("t_host", "x_m", "y_m"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & table[column].notna().to_numpy())
        if len(bad):
            raise TableFileError(f"{path}: row {int(bad[0]) + 1}: {column} is not a number")
        table[column] = values.astype(np.float64)
    if table["t_host"].isna().any():
        row = int(np.flatnonzero(table["t_host"].isna().to_numpy())[0]) + 1
        raise TableFileError(f"{path}: row {row}: t_host is empty")
    has_xy = table["x_m"].notna() & table["y_m"].notna()
    if "frame" not in table.columns:
        table["frame"] = np.arange(len(table))
    if "valid" not in table.columns:
        table["valid"] = has_xy
    if "reason" not in table.columns:
        table["reason"] = np.where(has_xy, "", "no_label")
    return table
