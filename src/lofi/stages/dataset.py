"""Stage ``dataset``: every aligned session in one store (``frames.parquet``) with a manifest.

``manifest.json`` explains each session: where its rows are, its subject, loss,
fill method, label coverage and why rows lack labels, the usable training
windows, and the hashes of the sources and settings it was made from.
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

from lofi import __version__
from lofi.data.windows import WINDOW_FRAMES, usable_windows
from lofi.io.dataset_store import FRAMES_FILE, DatasetError, load_dataset, read_aligned_arrow, write_dataset
from lofi.io.json_report import JsonFileError, file_sha256, read_json
from lofi.io.lofi_pickles import export_wiloc

SUBCARRIERS = [*range(-26, 0), *range(1, 27)]
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
        entries.append(_session_entry(table, inputs, start))
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
