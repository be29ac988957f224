"""Per-session ingest: raw ``csi.csv`` -> ``csi.parquet`` -> ``aligned.parquet``.

Thin glue between the session files (``lofi.io``) and the pure steps in
``lofi.csi`` (completion, alignment); the ``lofi csi`` and ``lofi align``
commands call these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.align import align_labels
from lofi.csi.complete import CompletedCsi, CompletionOptions, complete_csi
from lofi.io.atomic import atomic_open
from lofi.io.csi_reader import read_csi_log
from lofi.io.inspect import resolve_csi_path
from lofi.io.session import SessionFileError, read_yaml
from lofi.io.tables import read_csi_table, read_positions, write_csi_table


def session_meta(session: str | Path) -> dict:
    """``session.yaml`` of a session folder ({} when there is none)."""
    path = Path(session) / "session.yaml"
    return read_yaml(path) if path.is_file() else {}


def complete_session_csi(session: str | Path, options: CompletionOptions) -> tuple[CompletedCsi, dict]:
    """Read and complete a session's CSI log; the nominal rate comes from session.yaml if not given.

    Returns the completed CSI and a JSON-ready report (reader counts + completion counts).
    """
    csv, nominal = resolve_csi_path(session)
    if options.rate_hz is None and nominal is not None:
        options = replace(options, rate_hz=nominal)
    log = read_csi_log(csv)
    completed = complete_csi(log, options)
    read = log.report
    report = {
        "source": str(csv),
        "source_sha256": file_sha256(csv),
        "options": asdict(options),
        "layout": read.layout,
        "lines_skipped": read.skipped,
        "lines_skipped_by_reason": read.skipped_by_reason,
        **completed.report.as_dict(),
    }
    return completed, report


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_completed(out: str | Path, completed: CompletedCsi, report: dict) -> Path:
    """Write ``csi.parquet`` and its report ``csi.json`` beside it; returns the report path."""
    out = Path(out)
    write_csi_table(out, completed.table, completed.amplitude, completed.phase)
    report_path = out.with_suffix(".json")
    write_json(report_path, report)
    return report_path


def write_json(path: str | Path, data: dict) -> None:
    """Write a JSON file atomically (sorted keys off, 2-space indent)."""
    with atomic_open(path, "w") as handle:
        json.dump(data, handle, indent=2, allow_nan=False, default=_json_default)
        handle.write("\n")


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass
class AlignedSession:
    """An aligned table (scalars + amplitude + phase) and a JSON-ready summary."""

    table: pd.DataFrame
    amplitude: np.ndarray
    phase: np.ndarray
    summary: dict


def default_tolerance_s(meta: dict, positions: pd.DataFrame) -> float:
    """One camera period: 1 / camera_rate_hz of session.yaml, else the median frame interval."""
    rate = meta.get("camera_rate_hz")
    if isinstance(rate, int | float) and rate > 0:
        return 1.0 / float(rate)
    t = np.sort(positions["t_host"].to_numpy(np.float64))
    if len(t) < 2:
        raise SessionFileError("cannot infer a camera period: give --tolerance-s")
    return float(np.median(np.diff(t)))


def align_session(
    session: str | Path, csi_path: str | Path, positions_path: str | Path, tolerance_s: float | None = None
) -> AlignedSession:
    """Label every row of ``csi.parquet`` with the nearest frame of ``positions`` (eq. 5)."""
    meta = session_meta(session)
    scalars, amplitude, phase = read_csi_table(csi_path)
    positions = read_positions(positions_path)
    tolerance = default_tolerance_s(meta, positions) if tolerance_s is None else float(tolerance_s)
    csi_missing = ~np.isfinite(amplitude).any(axis=1)
    result = align_labels(scalars["t_host"].to_numpy(), positions, tolerance, csi_missing)
    subjects = meta.get("subjects") or []
    table = scalars.assign(
        frame=result.frame,
        x_m=result.x_m,
        y_m=result.y_m,
        label_dt=result.label_dt,
        label_valid=result.label_valid,
        reason=result.reason.astype(str),
        subject=",".join(map(str, subjects)),
        session=str(meta.get("id") or Path(session).name),
    )
    reasons = pd.Series(result.reason).replace("", "valid").value_counts()
    summary = {
        "positions": str(positions_path),
        "positions_sha256": file_sha256(positions_path),
        "rows": len(table),
        "tolerance_s": tolerance,
        "label_valid": int(result.label_valid.sum()),
        "coverage_pct": round(100.0 * float(result.label_valid.mean()), 3) if len(table) else 0.0,
        "reasons": {str(k): int(v) for k, v in reasons.items()},
        "label_dt_abs_p95_ms": _p95_ms(result.label_dt),
    }
    return AlignedSession(table, amplitude, phase, summary)


def _p95_ms(label_dt: np.ndarray) -> float | None:
    finite = np.abs(label_dt[np.isfinite(label_dt)])
    return round(float(np.percentile(finite, 95)) * 1e3, 3) if len(finite) else None


def read_aligned(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read ``aligned.parquet``: scalars, amplitude and phase."""
    return read_csi_table(path, aligned=True)
