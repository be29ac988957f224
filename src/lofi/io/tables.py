"""Parquet tables: any table, and the derived per-session ``csi.parquet``, ``aligned.parquet``, positions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi.io.atomic import atomic_open
from lofi.io.matrix_table import TableFileError, read_matrix_table, to_arrow, write_arrow
from lofi.io.provenance import with_provenance
from lofi.io.schema import ALIGNED_COLUMNS, CSI_COLUMNS, CSI_MATRIX_COLUMNS, Column, column_names, dtype_fits

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
    path: str | os.PathLike[str],
    scalars: pd.DataFrame,
    amplitude: np.ndarray,
    phase: np.ndarray,
    provenance: dict | None = None,
) -> None:
    """Write a CSI or aligned table (scalar columns in schema order, then amplitude and phase),
    with the session it was made from (see :mod:`lofi.io.provenance`)."""
    table = to_arrow(scalars, {"amplitude": amplitude, "phase": phase})
    write_arrow(path, table if provenance is None else with_provenance(table, provenance))


def read_csi_table(
    path: str | os.PathLike[str], aligned: bool = False
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read ``csi.parquet`` (or ``aligned.parquet``): scalars, amplitude and phase."""
    path = Path(path)
    if not path.is_file():
        raise TableFileError(f"{path}: no such file")
    required = ALIGNED_SCALARS if aligned else CSI_SCALARS
    scalars, matrices = read_matrix_table(path, MATRICES, required)
    check_dtypes(frame_dtypes(scalars), ALIGNED_COLUMNS if aligned else CSI_COLUMNS, str(path))
    scalars["seq"] = scalars["seq"].astype("Int64")  # parquet int64 with nulls reads back as float
    return scalars, matrices["amplitude"], matrices["phase"]


def frame_dtypes(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Per column of ``frame``: its numpy dtype kind (``'b'``, ``'f'``, ``'O'`` ...) and dtype name."""
    return {str(name): (dtype.kind, str(dtype)) for name, dtype in frame.dtypes.items()}


def arrow_dtypes(schema: pa.Schema) -> dict[str, tuple[str, str]]:
    """Per column of an Arrow schema: the numpy dtype kind it reads back as, and the Arrow type."""
    found = {}
    for field in schema:
        try:
            kind = np.dtype(field.type.to_pandas_dtype()).kind
        except (NotImplementedError, TypeError):  # lists, dictionaries, ...: not a plain scalar
            kind = "O"
        found[field.name] = (kind, str(field.type))
    return found


def check_dtypes(found: dict[str, tuple[str, str]], columns: tuple[Column, ...], where: str) -> None:
    """Every column of ``columns`` present in ``found`` (:func:`frame_dtypes`, :func:`arrow_dtypes`)
    has its schema's dtype, or a :class:`TableFileError` naming the column and the dtype found.

    A boolean stored as text (``'false'``) would count as True: it is refused, not converted.
    """
    for column in columns:
        kind, name = found.get(column.name, ("", ""))
        if kind and not dtype_fits(column, kind):
            raise TableFileError(
                f"{where}: column {column.name} is {name}, not {column.dtype} as the schema says "
                "(was the table written by another tool?)"
            )


#: Largest |x_m|, |y_m| (m) of a valid label. ESP32 Wi-Fi reaches tens of metres indoors and a
#: few hundred in the open; a label a kilometre from the origin is a unit slip (mm) or an overflow.
MAX_ABS_FLOOR_M = 1000.0
#: Host times are epoch seconds; 1e10 s is the year 2286. Larger values are ms, us or ns.
MAX_EPOCH_S = 1e10
_TRUE_TEXT, _FALSE_TEXT = {"true", "1", "1.0", "yes"}, {"false", "0", "0.0", "no"}


def read_positions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Floor labels per camera frame from ``positions.parquet`` or a CSV with t_host, x_m, y_m.

    A table from elsewhere (e.g. positions surveyed by hand) may omit ``frame``,
    ``valid`` and ``reason``: rows then count in order, and a label is valid when
    x and y are numbers.

    Every row must have a finite ``t_host`` (epoch s, below :data:`MAX_EPOCH_S`), in time
    order (equal times allowed); a valid row must have finite x_m and y_m within
    :data:`MAX_ABS_FLOOR_M` (m) of the origin. Errors name the file, the row (counted from
    1 at the first row under the header) and the column.
    """
    path = Path(path)
    table = _read_positions_file(path)
    missing = [c for c in ("t_host", "x_m", "y_m") if c not in table.columns]
    if missing:
        raise TableFileError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("t_host", "x_m", "y_m"):
        table[column] = _number_column(table[column], path, column)
    _check_host_times(table["t_host"].to_numpy(), path)
    has_xy = table["x_m"].notna() & table["y_m"].notna()
    table["frame"] = _frame_column(table, path)
    table["valid"] = _valid_column(table["valid"], path) if "valid" in table.columns else has_xy.to_numpy()
    _check_labels(table, path)
    if "reason" not in table.columns:
        table["reason"] = np.where(has_xy, "", "no_label")
    return table


def _read_positions_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise TableFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, encoding="utf-8")
        return pd.read_parquet(path)
    except UnicodeDecodeError as err:
        raise TableFileError(
            f"{path}: cannot read positions: not UTF-8 text ({err.reason} at byte {err.start})"
        ) from err
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise TableFileError(f"{path}: cannot read positions ({err})") from err


def _row(path: Path, index: int) -> str:
    """``path: row N`` for the 0-based row ``index`` (N counts from 1 under the header)."""
    return f"{path}: row {index + 1}"


def _convention(path: Path) -> str:
    """How :func:`_row` counts rows in this kind of file."""
    if path.suffix.lower() == ".csv":
        return "rows count from 1 at the first row under the header"
    return "rows count from 1 at the first row of the table"


def _number_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """``values`` as float64; text that is not a number is an error naming the row."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & values.notna().to_numpy())
    if len(bad):
        value = values.iloc[bad[0]]
        raise TableFileError(
            f"{_row(path, bad[0])}: {column} is not a number ({value!r}; {_convention(path)})"
        )
    return numbers.astype(np.float64)


def _check_host_times(t: np.ndarray, path: Path) -> None:
    """Every ``t_host`` present, finite, in epoch seconds and not earlier than the row before."""
    problems = (
        (np.isnan(t), "t_host is empty"),
        (np.isinf(t), "t_host = {} is not a finite time"),
        (np.abs(t) >= MAX_EPOCH_S, "t_host = {} is not in epoch seconds (past the year 2286: ms or us?)"),
    )
    for bad, why in problems:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TableFileError(f"{_row(path, i)}: {why.format(_number(t[i]))} ({_convention(path)})")
    back = np.flatnonzero(np.diff(t) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise TableFileError(
            f"{_row(path, i)}: t_host {t[i]:.6f} is earlier than row {i}'s {t[i - 1]:.6f}: "
            f"frames must be in time order ({_convention(path)})"
        )


def _number(value: float) -> str:
    """A float as a user would type it (``inf``, ``1715947798000.0``)."""
    return repr(float(value))


def _frame_column(table: pd.DataFrame, path: Path) -> np.ndarray:
    """The ``frame`` column as int64 (row numbers where there is none)."""
    if "frame" not in table.columns:
        return np.arange(len(table))
    frame = _number_column(table["frame"], path, "frame").to_numpy()
    bad = np.flatnonzero(~np.isfinite(frame) | (frame != np.round(frame)) | (frame < 0))
    if len(bad):
        i = int(bad[0])
        raise TableFileError(
            f"{_row(path, i)}: frame = {_number(frame[i])} is not a frame number ({_convention(path)})"
        )
    return frame.astype(np.int64)


def _valid_column(values: pd.Series, path: Path) -> np.ndarray:
    """``valid`` as bool: booleans, 0/1, or the words true/false (yes/no)."""
    if pd.api.types.is_bool_dtype(values.dtype) and not values.isna().any():
        return values.to_numpy(bool)
    text = values.astype(str).str.strip().str.lower()
    true, false = text.isin(_TRUE_TEXT).to_numpy(), text.isin(_FALSE_TEXT).to_numpy()
    bad = np.flatnonzero(~(true | false) | values.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise TableFileError(
            f"{_row(path, i)}: valid is not true or false ({values.iloc[i]!r}; {_convention(path)})"
        )
    return true


def _check_labels(table: pd.DataFrame, path: Path) -> None:
    """A valid row has finite x_m and y_m within :data:`MAX_ABS_FLOOR_M` of the origin."""
    valid = table["valid"].to_numpy(bool)
    for column in ("x_m", "y_m"):
        values = table[column].to_numpy()
        bad = valid & ~(np.abs(values) <= MAX_ABS_FLOOR_M)  # NaN and inf fail the test
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            why = "is missing" if np.isnan(values[i]) else f"= {values[i]:g} is not a floor position"
            raise TableFileError(
                f"{_row(path, i)}: {column} {why} in a row marked valid (a valid label needs finite "
                f"x_m and y_m within {MAX_ABS_FLOOR_M:g} m; {_convention(path)})"
            )
