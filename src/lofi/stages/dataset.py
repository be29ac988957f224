"""Stage ``dataset``: every aligned session in one store (``frames.parquet``) with a manifest.

``manifest.json`` explains each session: where its rows are, its subject, loss,
fill method, label coverage and why rows lack labels, the usable training
windows, and the hashes of the sources and settings it was made from.

``frames.parquet`` also carries ``x_true, y_true`` (m): the true position at each row, for
evaluation only. They come from the aligned table when it has them, else from the raw
session's ``truth/pings.parquet`` (synthetic sessions; found beside the ``csi.csv`` named in
``csi.json``'s ``source``, matched as :mod:`lofi.data.truth` describes), else NaN.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi import __version__
from lofi.data.truth import PING_COLUMNS, truth_at_rows
from lofi.data.windows import WINDOW_FRAMES, usable_windows
from lofi.io.dataset_store import (
    FRAMES_FILE,
    TRUTH,
    DatasetError,
    load_dataset,
    read_aligned_arrow,
    write_dataset,
)
from lofi.io.esp32.layouts import LLTF_USEFUL
from lofi.io.json_report import JsonFileError, file_sha256, read_json
from lofi.io.lofi_pickles import export_wiloc
from lofi.io.session import TRUTH_PINGS

SUBCARRIERS = LLTF_USEFUL.tolist()  # the 52 LLTF subcarriers the data set holds, -26..-1, +1..+26
#: Keys a data set reads from each session's reports, and what each must hold.
CSI_REPORT_KEYS = {
    "source": "text",
    "source_sha256": "text",
    "options": "object",
    "fill_method": "text",
    "loss_pct": "percent",
}
ALIGN_SUMMARY_KEYS = {"positions": "text", "positions_sha256": "text", "tolerance_s": "seconds"}


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
        hint = "run `lofi csi` and `lofi align` for this session"
        try:
            csi_report = read_json(folder / "csi.json", hint)
            align_summary = read_json(folder / "aligned.json", hint)
        except JsonFileError as err:
            raise DatasetError(str(err)) from err
        _check_report(csi_report, folder / "csi.json", CSI_REPORT_KEYS, "lofi csi")
        _check_report(align_summary, folder / "aligned.json", ALIGN_SUMMARY_KEYS, "lofi align")
        return cls(folder / "aligned.parquet", csi_report, align_summary)


def _check_report(report: dict, path: Path, keys: dict[str, str], command: str) -> None:
    """Every key of ``keys`` present in ``report`` and of its kind, or an error naming the file."""
    missing = [k for k in keys if k not in report]
    if missing:
        raise DatasetError(
            f"{path}: missing key(s) {', '.join(missing)}: not a report of `{command}` (run it again)"
        )
    for key, kind in keys.items():
        if not _is_kind(report[key], kind):
            raise DatasetError(f"{path}: {key}: expected {_KIND_TEXT[kind]}, got {report[key]!r}")


_KIND_TEXT = {
    "text": "text",
    "object": "a JSON object",
    "percent": "a number from 0 to 100",
    "seconds": "a positive number of seconds or null",
}


def _is_kind(value: object, kind: str) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return {
        "text": isinstance(value, str),
        "object": isinstance(value, dict),
        "percent": number and 0 <= value <= 100,
        "seconds": value is None or (number and value > 0),
    }[kind]


def build_dataset(name: str, sessions: list[SessionInputs], out_dir: str | Path) -> dict:
    """Write ``frames.parquet`` and ``manifest.json`` under ``out_dir``; returns the manifest."""
    if not sessions:
        raise DatasetError("a data set needs at least one session")
    tables, entries, start = [], [], 0
    for inputs in sessions:
        table = read_aligned_arrow(inputs.aligned, len(SUBCARRIERS))
        _check_same_schema(table, tables[0] if tables else table, inputs.aligned)
        entry = _session_entry(table, inputs, start)
        table = _with_truth(table, inputs, entry)
        entries.append(entry)
        tables.append(table)
        start += len(table)
    _check_unique([e["session"] for e in entries])
    combined = pa.concat_tables(tables).replace_schema_metadata(None)
    manifest = _manifest(name, entries, combined)
    write_dataset(out_dir, combined, manifest)
    return manifest


def run_dataset(name: str, interim: list[str | Path], out_dir: str | Path, export_lofi: bool = False) -> dict:
    """Build the data set ``out_dir`` from interim folders; with ``export_lofi`` also write ``wiloc.pkl``.

    Returns the manifest, with ``exported`` (records written) when exporting.
    """
    manifest = build_dataset(name, [SessionInputs.from_folder(f) for f in interim], out_dir)
    if export_lofi:
        manifest = {**manifest, "exported": export_wiloc(load_dataset(out_dir), Path(out_dir) / "wiloc.pkl")}
    return manifest


def _check_same_schema(table: pa.Table, first: pa.Table, path: Path) -> None:
    """Every session's columns of the same types as the first session's (else no concatenation)."""
    for field in table.schema:
        expected = first.schema.field(field.name).type
        if not field.type.equals(expected):
            raise DatasetError(
                f"{path}: column {field.name} is {field.type}, but {expected} in the first session"
            )


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


def _with_truth(table: pa.Table, inputs: SessionInputs, entry: dict) -> pa.Table:
    """``table`` with ``x_true, y_true`` appended (NaN where unknown); notes their source in ``entry``."""
    x, y, source = _aligned_truth(inputs.aligned, table.num_rows)
    if source is None:
        x, y, source = _pings_truth(table, inputs.csi_report)
    entry["sources"]["truth"] = source
    entry["truth_rows"] = int(np.count_nonzero(np.isfinite(x) & np.isfinite(y)))
    return table.append_column(TRUTH[0], pa.array(x, pa.float64())).append_column(
        TRUTH[1], pa.array(y, pa.float64())
    )


def _aligned_truth(path: Path, rows: int) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The aligned table's own truth columns, if it has both (source ``aligned``)."""
    if not set(TRUTH) <= set(pq.read_schema(path).names):
        return np.full(rows, np.nan), np.full(rows, np.nan), None
    truth = pq.read_table(path, columns=list(TRUTH))
    x, y = (truth.column(c).to_numpy().astype(np.float64) for c in TRUTH)
    return x, y, "aligned"


def _pings_truth(table: pa.Table, csi_report: dict) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Truth from the raw session's ``truth/pings.parquet``; all NaN (source None) if absent or unusable."""
    nan = np.full(table.num_rows, np.nan)
    path = Path(str(csi_report.get("source", ""))).parent / TRUTH_PINGS
    try:
        if not path.is_file():
            return nan, nan.copy(), None
        names = pq.read_schema(path).names
        pings = pq.read_table(path, columns=[c for c in (*PING_COLUMNS, "t_host") if c in names])
    except (OSError, pa.ArrowException):
        return nan, nan.copy(), None
    if not set(PING_COLUMNS) <= set(pings.column_names):
        return nan, nan.copy(), None
    rows = table.select(["t_device", "lost", "segment", "t_host_raw"]).to_pandas()
    columns = {c: pings.column(c).to_numpy(zero_copy_only=False) for c in pings.column_names}
    x, y = truth_at_rows(
        rows["t_device"].to_numpy(np.float64),
        rows["lost"].to_numpy(bool),
        rows["segment"].to_numpy(),
        rows["t_host_raw"].to_numpy(np.float64),
        columns,
    )
    return x, y, (str(path) if np.isfinite(x).any() else None)


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
        "subcarriers": SUBCARRIERS,
        "sessions": entries,
    }
