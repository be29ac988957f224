"""Stage ``align``: every row of ``csi.parquet`` takes the nearest camera frame's label (eq. 5)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.align import align_labels, camera_period_s
from lofi.io.json_report import file_sha256, json_after
from lofi.io.matrix_table import TableFileError
from lofi.io.provenance import read_provenance
from lofi.io.session import SESSION_CSI, SESSION_FRAMES, read_session_meta
from lofi.io.tables import read_csi_table, read_positions, write_csi_table


@dataclass
class AlignedSession:
    """An aligned table (scalars + amplitude + phase) and a JSON-ready summary."""

    table: pd.DataFrame
    amplitude: np.ndarray
    phase: np.ndarray
    summary: dict
    provenance: dict = field(default_factory=dict)


def check_inputs_belong(session: Path, csi_path: Path, positions_path: Path) -> dict:
    """Refuse a ``csi.parquet`` or positions table that another session's files were made from.

    Tables record the SHA-256 of the ``csi.csv`` / ``frames.csv`` they came from
    (:mod:`lofi.io.provenance`); a table from elsewhere (no record) or a session without that
    file is not checked. Returns the hashes of this session's files, for the aligned table.
    """
    hashes = {}
    for path, source, key, command in (
        (csi_path, SESSION_CSI, "csi_csv_sha256", "lofi csi"),
        (positions_path, SESSION_FRAMES, "frames_csv_sha256", "lofi detect + lofi localize"),
    ):
        if not (session / source).is_file():
            continue
        hashes[key] = file_sha256(session / source)
        recorded = (read_provenance(path) or {}).get(key)
        if recorded is not None and recorded != hashes[key]:
            raise TableFileError(
                f"{path}: made from another {source} than {session}'s; run `{command}` for {session}"
            )
    return hashes


def align_session(
    session: str | Path, csi_path: str | Path, positions_path: str | Path, tolerance_s: float | None = None
) -> AlignedSession:
    """Label every row of ``csi.parquet`` with the nearest frame of ``positions`` (eq. 5).

    The tolerance (s) is ``tolerance_s`` when given, else one camera period
    (``camera_rate_hz`` of ``session.yaml``, else the median frame interval).
    """
    meta = read_session_meta(session)
    provenance = check_inputs_belong(Path(session), Path(csi_path), Path(positions_path))
    scalars, amplitude, phase = read_csi_table(csi_path)
    positions = read_positions(positions_path)
    if not len(positions):
        raise ValueError(f"{positions_path}: the positions table has no frames")
    tolerance = camera_period_s(meta.camera_rate_hz, positions) if tolerance_s is None else float(tolerance_s)
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"the alignment tolerance must be a positive number of seconds, got {tolerance}")
    csi_missing = ~np.isfinite(amplitude).any(axis=1)
    result = align_labels(scalars["t_host"].to_numpy(), positions, tolerance, csi_missing)
    table = scalars.assign(
        frame=result.frame,
        x_m=result.x_m,
        y_m=result.y_m,
        label_dt=result.label_dt,
        label_valid=result.label_valid,
        reason=result.reason.astype(str),
        subject=",".join(meta.subjects),
        session=meta.id,
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
    return AlignedSession(table, amplitude, phase, summary, {**provenance, "session": meta.id})


def _p95_ms(label_dt: np.ndarray) -> float | None:
    finite = np.abs(label_dt[np.isfinite(label_dt)])
    return round(float(np.percentile(finite, 95)) * 1e3, 3) if len(finite) else None


def write_aligned(out: str | Path, aligned: AlignedSession) -> Path:
    """Write ``aligned.parquet`` and its summary ``aligned.json`` beside it; returns the summary path."""
    out = Path(out)
    summary_path = out.with_suffix(".json")
    if summary_path == out:
        raise ValueError(f"{out}: the table cannot end in .json: its summary is written beside it as .json")
    provenance = {**aligned.provenance, "written_by": "lofi align"}
    with json_after(summary_path, aligned.summary):
        write_csi_table(out, aligned.table, aligned.amplitude, aligned.phase, provenance)
    return summary_path


def run_align(
    session: str | Path,
    csi_path: str | Path,
    positions_path: str | Path,
    out: str | Path,
    tolerance_s: float | None = None,
) -> AlignedSession:
    """Align ``session`` and write ``out`` (parquet) and its ``.json`` summary."""
    aligned = align_session(session, csi_path, positions_path, tolerance_s)
    write_aligned(out, aligned)
    return aligned
