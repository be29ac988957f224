"""The processed data set on disk: ``frames.parquet`` (every session's rows) + ``manifest.json``.

``data/processed/<name>/frames.parquet`` holds the rows of all sessions in order
(session, then time) with ``amplitude`` and ``phase`` as fixed-size list columns,
so training reads two contiguous ``rows x 52`` arrays and slices windows by row
range. ``manifest.json`` explains each session (rows, subject, loss, labels,
sources); :mod:`lofi.stages.dataset` builds it. The optional truth columns ``x_true,
y_true`` (:data:`lofi.io.schema.TRUTH_COLUMNS`) read back as NaN from a data set without them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi.io.json_report import JsonFileError, json_after, read_json
from lofi.io.matrix_table import TableFileError, read_matrix_table, write_arrow
from lofi.io.schema import TRUTH_COLUMNS, column_names
from lofi.io.tables import ALIGNED_SCALARS, MATRICES

FRAMES_FILE = "frames.parquet"
MANIFEST_FILE = "manifest.json"
#: Optional truth columns of ``frames.parquet`` (m; NaN where unknown).
TRUTH = column_names(TRUTH_COLUMNS)


class DatasetError(ValueError):
    """A data set cannot be built or read (missing inputs, inconsistent sessions)."""


def read_aligned_arrow(path: str | os.PathLike[str], width: int | None = None) -> pa.Table:
    """``aligned.parquet`` as an Arrow table with exactly the data set's columns, in order.

    With ``width``, the matrix columns must be fixed-size lists of that many values
    (subcarriers).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (run `lofi align` first)")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise DatasetError(f"{path}: cannot read the aligned table ({err})") from err
    missing = [c for c in (*ALIGNED_SCALARS, *MATRICES) if c not in table.column_names]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
    for name in MATRICES:
        kind = table.schema.field(name).type
        if not pa.types.is_fixed_size_list(kind) or (width is not None and kind.list_size != width):
            raise DatasetError(f"{path}: column {name} is {kind}, not {width or 'fixed-size'} values per row")
    return table.select([*ALIGNED_SCALARS, *MATRICES])


def write_dataset(out_dir: str | os.PathLike[str], frames: pa.Table, manifest: dict) -> None:
    """Write ``frames.parquet`` and ``manifest.json`` under ``out_dir``.

    The manifest is checked first and renamed into place after the frames, so a failure
    leaves no new manifest (see :func:`lofi.io.json_report.json_after`).
    """
    out = Path(out_dir)
    with json_after(out / MANIFEST_FILE, manifest):
        write_arrow(out / FRAMES_FILE, frames.replace_schema_metadata(None), row_group_size=64 * 1024)


@dataclass
class Dataset:
    """A loaded data set: per-row scalars, amplitude and phase (rows x 52), and the manifest."""

    frames: pd.DataFrame
    amplitude: np.ndarray
    phase: np.ndarray
    manifest: dict

    def session_rows(self, session: str) -> slice:
        """Row range of one session."""
        for entry in self.manifest["sessions"]:
            if entry["session"] == session:
                return slice(*entry["rows"])
        raise KeyError(f"no session {session!r} in data set {self.manifest.get('name')!r}")


def load_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Load ``data/processed/<name>/`` (the folder holding manifest.json and frames.parquet).

    ``frames`` always has the truth columns ``x_true, y_true`` (float64, NaN if the data set has none).
    """
    folder = Path(path)
    try:
        manifest = read_json(folder / MANIFEST_FILE, "build it with `lofi dataset`")
        frames, matrices = read_matrix_table(folder / FRAMES_FILE, MATRICES, ALIGNED_SCALARS)
    except (JsonFileError, TableFileError) as err:
        raise DatasetError(str(err)) from err
    if len(frames) != manifest.get("rows"):
        raise DatasetError(f"{folder}: manifest says {manifest.get('rows')} rows, frames has {len(frames)}")
    frames["seq"] = frames["seq"].astype("Int64")
    for name in TRUTH:
        frames[name] = frames[name].astype(np.float64) if name in frames else np.full(len(frames), np.nan)
    return Dataset(frames, matrices["amplitude"], matrices["phase"], manifest)
