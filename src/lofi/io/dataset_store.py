"""The processed data set on disk: ``frames.parquet`` (every session's rows) + ``manifest.json``.

``data/processed/<name>/frames.parquet`` holds the rows of all sessions in order
(session, then time) with ``amplitude`` and ``phase`` as fixed-size list columns,
so training reads two contiguous ``rows x 52`` arrays and slices windows by row
range. ``manifest.json`` explains each session (rows, subject, loss, labels,
sources); :mod:`lofi.stages.dataset` builds it. The optional truth columns ``x_true,
y_true`` (:data:`lofi.io.schema.TRUTH_COLUMNS`) read back as NaN from a data set without them.

:func:`load_dataset` refuses a data set that lies about itself: manifest row ranges that do
not tile the table or disagree with its per-row ``session`` / ``subject`` columns, a session
named twice, a column not of its schema's dtype (a boolean stored as text), an infinite truth.
:func:`dataset_sha256` is the data set's identity (manifest and frames together).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi.io.json_report import JsonFileError, json_after, read_json
from lofi.io.matrix_table import TableFileError, read_matrix_table, write_arrow
from lofi.io.schema import ALIGNED_COLUMNS, TRUTH_COLUMNS, column_names
from lofi.io.tables import ALIGNED_SCALARS, MATRICES, arrow_dtypes, check_dtypes, frame_dtypes

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
    try:
        check_dtypes(arrow_dtypes(table.schema), (*ALIGNED_COLUMNS, *TRUTH_COLUMNS), str(path))
    except TableFileError as err:
        raise DatasetError(str(err)) from err
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
    The manifest and the table are checked against each other first (see the module docstring).
    """
    folder = Path(path)
    try:
        manifest = read_json(folder / MANIFEST_FILE, "build it with `lofi dataset`")
        frames, matrices = read_matrix_table(folder / FRAMES_FILE, MATRICES, ALIGNED_SCALARS)
        check_dtypes(frame_dtypes(frames), (*ALIGNED_COLUMNS, *TRUTH_COLUMNS), str(folder / FRAMES_FILE))
    except (JsonFileError, TableFileError) as err:
        raise DatasetError(str(err)) from err
    if len(frames) != manifest.get("rows"):
        raise DatasetError(f"{folder}: manifest says {manifest.get('rows')} rows, frames has {len(frames)}")
    check_sessions(manifest, frames, folder)
    frames["seq"] = frames["seq"].astype("Int64")
    for name in TRUTH:
        frames[name] = frames[name].astype(np.float64) if name in frames else np.full(len(frames), np.nan)
    _check_truth(frames, folder / FRAMES_FILE)
    return Dataset(frames, matrices["amplitude"], matrices["phase"], manifest)


def session_ranges(manifest: dict, where: Path) -> list[tuple[str, str, int, int]]:
    """``(session, subject, first row, end row)`` of each manifest session, or a DatasetError naming
    the manifest ``where`` and the entry that lacks its name, subject or ``rows: [first, end]``."""
    sessions = manifest.get("sessions")
    if not isinstance(sessions, list) or not sessions:
        raise DatasetError(f"{where}: sessions: expected a non-empty list of sessions, got {sessions!r}")
    ranges = []
    for i, entry in enumerate(sessions):
        entry = entry if isinstance(entry, dict) else {}
        name, subject, rows = entry.get("session"), entry.get("subject"), entry.get("rows")
        whole = isinstance(rows, list) and len(rows) == 2 and all(type(r) is int for r in rows)
        if not (isinstance(name, str) and isinstance(subject, str) and whole):
            raise DatasetError(
                f"{where}: sessions[{i}]: expected text session and subject and rows [first, end] "
                f"(whole numbers), got session {name!r}, subject {subject!r}, rows {rows!r}"
            )
        ranges.append((name, subject, rows[0], rows[1]))
    return ranges


def check_sessions(manifest: dict, frames: pd.DataFrame, folder: Path) -> None:
    """The manifest's sessions: named once each, their row ranges contiguous, non-overlapping and
    tiling the table, and every row's ``session`` and ``subject`` those of the range it lies in."""
    where = folder / MANIFEST_FILE
    ranges = session_ranges(manifest, where)
    seen: dict[str, int] = {}
    end = 0
    for i, (name, _, first, stop) in enumerate(ranges):
        if name in seen:
            raise DatasetError(f"{where}: session {name!r} appears twice (sessions[{seen[name]}] and [{i}])")
        seen[name] = i
        if first != end or stop < first:
            must = (
                f"start at row {end}, where the session before ends"
                if first != end
                else "not end before they start"
            )
            raise DatasetError(
                f"{where}: session {name!r} has rows [{first}, {stop}), but its rows must {must}: the "
                "row ranges must be contiguous, not overlap and tile the table in order"
            )
        end = stop
    if end != len(frames):
        raise DatasetError(
            f"{where}: the sessions' rows end at row {end}, but frames.parquet has {len(frames)}"
        )
    for column in ("session", "subject"):
        _check_rows_match(frames[column].to_numpy(), ranges, column, folder)


def _check_rows_match(values: np.ndarray, ranges: list, column: str, folder: Path) -> None:
    """Every row of each range holds the manifest's value of ``column`` (session or subject)."""
    for name, subject, first, stop in ranges:
        expected = name if column == "session" else subject
        bad = np.flatnonzero(values[first:stop] != expected)
        if len(bad):
            row = first + int(bad[0])
            raise DatasetError(
                f"{folder / FRAMES_FILE}: row {row} has {column} {values[row]!r}, but {MANIFEST_FILE} "
                f"gives rows [{first}, {stop}) to session {name!r} ({column} {expected!r}): the manifest's "
                "row ranges do not match the table (rebuild it with `lofi dataset`)"
            )


def _check_truth(frames: pd.DataFrame, where: Path) -> None:
    """The truth columns hold finite metres or NaN (unknown), never an infinity."""
    for name in TRUTH:
        bad = np.flatnonzero(np.isinf(frames[name].to_numpy()))
        if len(bad):
            row = int(bad[0])
            raise DatasetError(
                f"{where}: row {row}: {name} = {float(frames[name].iloc[row])!r} is not a position (m)"
            )


def dataset_sha256(path: str | os.PathLike[str]) -> str:
    """The data set's identity: 16 hex digits of a SHA-256 over the SHA-256s of ``manifest.json``
    and ``frames.parquet`` (each read in blocks), so a changed table changes it too."""
    digest = hashlib.sha256()
    for name in (MANIFEST_FILE, FRAMES_FILE):
        file = Path(path) / name
        try:
            with open(file, "rb") as handle:
                inner = hashlib.file_digest(handle, "sha256").digest()
        except OSError as err:
            raise DatasetError(f"{file}: cannot read the data set ({err.strerror or err})") from err
        digest.update(name.encode() + b"\0" + inner)
    return digest.hexdigest()[:16]
