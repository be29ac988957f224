"""The processed data set: every session's aligned rows in one parquet file, plus a manifest.

``data/processed/<name>/frames.parquet`` holds the rows of all sessions in order
(session, then time) with ``amplitude`` and ``phase`` as fixed-size list columns,
so training reads two contiguous ``rows x 52`` arrays and slices windows by row
range. ``manifest.json`` explains each session: where its rows are, its subject,
loss, fill method, label coverage and why rows lack labels, and the hashes of the
sources and settings it was made from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi import __version__
from lofi.data.ingest import file_sha256, write_json
from lofi.io.matrix_table import TableFileError, read_matrix_table, write_arrow
from lofi.io.tables import ALIGNED_SCALARS, MATRICES

FRAMES_FILE = "frames.parquet"
MANIFEST_FILE = "manifest.json"
WINDOW_FRAMES = 100


class DatasetError(ValueError):
    """A data set cannot be built or read (missing inputs, inconsistent sessions)."""


@dataclass
class SessionInputs:
    """The interim files of one session: aligned table, CSI report, alignment summary."""

    aligned: Path
    csi_report: dict
    align_summary: dict

    @classmethod
    def from_folder(cls, folder: str | Path) -> SessionInputs:
        """``aligned.parquet`` with ``csi.json`` and ``aligned.json`` from an interim folder."""
        folder = Path(folder)
        csi_report, align_summary = _read_json(folder / "csi.json"), _read_json(folder / "aligned.json")
        return cls(folder / "aligned.parquet", csi_report, align_summary)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (run `lofi csi` and `lofi align` for this session)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: not valid JSON ({err})") from err


def build_dataset(name: str, sessions: list[SessionInputs], out_dir: str | Path) -> dict:
    """Write ``frames.parquet`` and ``manifest.json`` under ``out_dir``; returns the manifest."""
    if not sessions:
        raise DatasetError("a data set needs at least one session")
    out = Path(out_dir)
    tables, entries, start = [], [], 0
    for inputs in sessions:
        if not inputs.aligned.is_file():
            raise DatasetError(f"{inputs.aligned}: no such file (run `lofi align` first)")
        table = pq.read_table(inputs.aligned)
        missing = [c for c in (*ALIGNED_SCALARS, *MATRICES) if c not in table.column_names]
        if missing:
            raise DatasetError(f"{inputs.aligned}: missing column(s) {', '.join(missing)}")
        table = table.select([*ALIGNED_SCALARS, *MATRICES])
        entries.append(_session_entry(table, inputs, start))
        tables.append(table)
        start += len(table)
    _check_unique([e["session"] for e in entries])
    combined = pa.concat_tables(tables).replace_schema_metadata(None)
    write_arrow(out / FRAMES_FILE, combined, row_group_size=64 * 1024)
    manifest = _manifest(name, entries, combined)
    write_json(out / MANIFEST_FILE, manifest)
    return manifest


def _check_unique(names: list[str]) -> None:
    seen = pd.Series(names)
    repeated = sorted(set(seen[seen.duplicated()]))
    if repeated:
        raise DatasetError(f"session(s) given twice: {', '.join(repeated)}")


def _session_entry(table: pa.Table, inputs: SessionInputs, start: int) -> dict:
    columns = ["t_host", "lost", "filled", "outage", "label_valid", "reason", "session", "subject"]
    frame = table.select(columns).to_pandas()
    valid = frame["label_valid"].to_numpy(bool)
    report = inputs.csi_report
    reasons = frame["reason"].replace("", "valid").value_counts()
    t = frame["t_host"].to_numpy(np.float64)
    return {
        "session": str(frame["session"].iloc[0]) if len(frame) else inputs.aligned.parent.name,
        "subject": str(frame["subject"].iloc[0]) if len(frame) else "",
        "rows": [start, start + len(frame)],
        "frames": len(frame),
        "duration_s": round(float(np.nanmax(t) - np.nanmin(t)), 3) if np.isfinite(t).any() else None,
        "received": int((~frame["lost"]).sum()),
        "lost": int(frame["lost"].sum()),
        "loss_pct": report.get("loss_pct"),
        "filled": int(frame["filled"].sum()),
        "outage_rows": int(frame["outage"].sum()),
        "fill_method": report.get("fill_method"),
        "label_valid": int(valid.sum()),
        "label_coverage_pct": round(100.0 * float(valid.mean()), 3) if len(valid) else 0.0,
        "unlabelled_by_reason": {str(k): int(v) for k, v in reasons.items() if k != "valid"},
        "usable_windows": usable_windows(valid, WINDOW_FRAMES),
        "label_tolerance_s": inputs.align_summary.get("tolerance_s"),
        "sources": {
            "csi": report.get("source"),
            "csi_sha256": report.get("source_sha256"),
            "positions": inputs.align_summary.get("positions"),
            "positions_sha256": inputs.align_summary.get("positions_sha256"),
            "aligned_sha256": file_sha256(inputs.aligned),
        },
        "config_hash": _config_hash(report.get("options", {}), inputs.align_summary.get("tolerance_s")),
    }


def usable_windows(valid: np.ndarray, length: int) -> int:
    """Number of non-overlapping ``length``-row windows whose rows are all valid (paper protocol)."""
    n = len(valid) // length
    return int(valid[: n * length].reshape(n, length).all(axis=1).sum()) if n else 0


def _config_hash(options: dict, tolerance_s: float | None) -> str:
    text = json.dumps({"completion": options, "tolerance_s": tolerance_s}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _manifest(name: str, entries: list[dict], combined: pa.Table) -> dict:
    rows = combined.num_rows
    valid = sum(e["label_valid"] for e in entries)
    return {
        "name": name,
        "lofi_version": __version__,
        "files": {"frames": FRAMES_FILE},
        "rows": rows,
        "label_coverage_pct": round(100.0 * valid / rows, 3) if rows else 0.0,
        "columns": combined.column_names,
        "subcarriers": list(range(-26, 0)) + list(range(1, 27)),
        "sessions": entries,
    }


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


def load_dataset(path: str | Path) -> Dataset:
    """Load ``data/processed/<name>/`` (the folder holding manifest.json and frames.parquet)."""
    folder = Path(path)
    manifest = _read_json(folder / MANIFEST_FILE)
    try:
        frames, matrices = read_matrix_table(folder / FRAMES_FILE, MATRICES, ALIGNED_SCALARS)
    except TableFileError as err:
        raise DatasetError(str(err)) from err
    if len(frames) != manifest.get("rows"):
        raise DatasetError(f"{folder}: manifest says {manifest.get('rows')} rows, frames has {len(frames)}")
    frames["seq"] = frames["seq"].astype("Int64")
    return Dataset(frames, matrices["amplitude"], matrices["phase"], manifest)
