"""Stage ``align``: every row of ``csi.parquet`` takes a floor label.

Two sources of labels:

* video: the nearest camera frame's position in a positions table (eq. 5), within a tolerance;
* a surveyed point: a session recorded standing at one marked floor point (no video) gives every
  row that point, from ``lofi align --at X,Y`` or ``position_m`` in ``session.yaml``. No host time
  is needed, so logs without host timestamps (the esp-csi layout) are labelled on the device clock.

A surveyed point must lie in the floor region (m, region frame, origin at the region's corner):
``[0, w] x [0, d]`` with the size of the session's ``calibration.yaml`` ``region`` when it has one,
else of the scene its ``session.yaml`` names (``scene_file``), else the default lab region
(:func:`lofi.stages.scenes.session_region`); ``lofi record --at`` checks the same region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.align import AlignError, Alignment, align_labels, camera_period_s, label_at_point
from lofi.io.json_report import file_sha256, json_after
from lofi.io.matrix_table import TableFileError
from lofi.io.provenance import read_provenance
from lofi.io.session import SESSION_CSI, SESSION_FRAMES, SessionMeta, read_session_meta
from lofi.io.tables import read_csi_table, read_positions, write_csi_table
from lofi.stages.scenes import session_region
from lofi.vision.calibration import check_point

#: Where a surveyed point given on the command line comes from (``position_source`` of the summary).
AT_OPTION = "--at"


@dataclass
class AlignedSession:
    """An aligned table (scalars + amplitude + phase) and a JSON-ready summary."""

    table: pd.DataFrame
    amplitude: np.ndarray
    phase: np.ndarray
    summary: dict
    provenance: dict = field(default_factory=dict)


def check_inputs_belong(session: Path, csi_path: Path, positions_path: Path | None) -> dict:
    """Refuse a ``csi.parquet`` or positions table that another session's files were made from.

    Tables record the SHA-256 of the ``csi.csv`` / ``frames.csv`` they came from
    (:mod:`lofi.io.provenance`); a table from elsewhere (no record), a session without that
    file or no positions table (a surveyed point) is not checked. Returns the hashes of this
    session's files, for the aligned table.
    """
    hashes = {}
    for path, source, key, command in (
        (csi_path, SESSION_CSI, "csi_csv_sha256", "lofi csi"),
        (positions_path, SESSION_FRAMES, "frames_csv_sha256", "lofi detect + lofi localize"),
    ):
        if path is None or not (session / source).is_file():
            continue
        hashes[key] = file_sha256(session / source)
        recorded = (read_provenance(path) or {}).get(key)
        if recorded is not None and recorded != hashes[key]:
            raise TableFileError(
                f"{path}: made from another {source} than {session}'s; run `{command}` for {session}"
            )
    return hashes


def surveyed_point(
    session: Path, meta: SessionMeta, positions_path: str | Path | None, at: tuple[float, float] | None
) -> tuple[tuple[float, float], str] | None:
    """The point (m) to label every row with and where it comes from, or None to align with video.

    ``at`` (``--at``) wins; a positions table means video; with neither, ``session.yaml``'s
    ``position_m`` is the label, and a session without it has nothing to be labelled with.
    """
    if at is not None:
        if positions_path is not None:
            raise AlignError(f"give {AT_OPTION} or a positions table ({positions_path}), not both")
        return check_point(at, session_region(session), AT_OPTION), AT_OPTION
    if positions_path is not None:
        return None
    if meta.position_m is None:
        raise AlignError(
            f"{session}: nothing to label the CSI with: no positions table (run `lofi detect` and "
            f"`lofi localize`, or give --positions), no {AT_OPTION} X,Y and no position_m in "
            f"{meta.path or session / 'session.yaml'}"
        )
    return check_point(meta.position_m, session_region(session), f"{meta.path}: position_m"), str(meta.path)


def align_session(
    session: str | Path,
    csi_path: str | Path,
    positions_path: str | Path | None,
    tolerance_s: float | None = None,
    at: tuple[float, float] | None = None,
) -> AlignedSession:
    """Label every row of ``csi.parquet``: with the nearest frame of ``positions`` (eq. 5), or
    with one surveyed point (``at``, else ``session.yaml``'s ``position_m`` when there is no
    positions table; see :func:`surveyed_point`).

    The tolerance (s) is ``tolerance_s`` when given, else one camera period
    (``camera_rate_hz`` of ``session.yaml``, else the median frame interval); a surveyed point
    has none.
    """
    meta = read_session_meta(session)
    point = surveyed_point(Path(session), meta, positions_path, at)
    if point is not None:
        return _align_at_point(Path(session), meta, Path(csi_path), *point)
    provenance = check_inputs_belong(Path(session), Path(csi_path), Path(positions_path))
    scalars, amplitude, phase = read_csi_table(csi_path)
    positions = read_positions(positions_path)
    if not len(positions):
        raise ValueError(f"{positions_path}: the positions table has no frames")
    tolerance = camera_period_s(meta.camera_rate_hz, positions) if tolerance_s is None else float(tolerance_s)
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"the alignment tolerance must be a positive number of seconds, got {tolerance}")
    result = align_labels(scalars["t_host"].to_numpy(), positions, tolerance, _csi_missing(amplitude))
    summary = {
        "positions": str(positions_path),
        "positions_sha256": file_sha256(positions_path),
        **_counts(result, tolerance),
    }
    table = _labelled(scalars, result, meta)
    return AlignedSession(table, amplitude, phase, summary, {**provenance, "session": meta.id})


def _align_at_point(
    session: Path, meta: SessionMeta, csi_path: Path, point_m: tuple[float, float], source: str
) -> AlignedSession:
    """Every row labelled at ``point_m`` (m); the summary names the point and where it came from."""
    provenance = check_inputs_belong(session, csi_path, None)
    scalars, amplitude, phase = read_csi_table(csi_path)
    result = label_at_point(len(scalars), point_m, _csi_missing(amplitude))
    summary = {
        "positions": None,
        "positions_sha256": None,
        "position_m": list(point_m),
        "position_source": source,
        **_counts(result, None),
    }
    provenance = {**provenance, "session": meta.id, "position_m": list(point_m)}
    return AlignedSession(_labelled(scalars, result, meta), amplitude, phase, summary, provenance)


def _csi_missing(amplitude: np.ndarray) -> np.ndarray:
    """Rows without any CSI (an outage, or a lost row left unfilled)."""
    return ~np.isfinite(amplitude).any(axis=1)


def _labelled(scalars: pd.DataFrame, result: Alignment, meta: SessionMeta) -> pd.DataFrame:
    """The CSI scalars with the label columns, subject and session appended."""
    return scalars.assign(
        frame=result.frame,
        x_m=result.x_m,
        y_m=result.y_m,
        label_dt=result.label_dt,
        label_valid=result.label_valid,
        reason=result.reason.astype(str),
        subject=",".join(meta.subjects),
        session=meta.id,
    )


def _counts(result: Alignment, tolerance_s: float | None) -> dict:
    """What the summary says of the labels: rows, tolerance (s), coverage, reasons, |label_dt| p95."""
    n = len(result.label_valid)
    reasons = pd.Series(result.reason).replace("", "valid").value_counts()
    return {
        "rows": n,
        "tolerance_s": tolerance_s,
        "label_valid": int(result.label_valid.sum()),
        "coverage_pct": round(100.0 * float(result.label_valid.mean()), 3) if n else 0.0,
        "reasons": {str(k): int(v) for k, v in reasons.items()},
        "label_dt_abs_p95_ms": _p95_ms(result.label_dt),
    }


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
    positions_path: str | Path | None,
    out: str | Path,
    tolerance_s: float | None = None,
    at: tuple[float, float] | None = None,
) -> AlignedSession:
    """Align ``session`` (see :func:`align_session`) and write ``out`` (parquet) and its ``.json``
    summary."""
    aligned = align_session(session, csi_path, positions_path, tolerance_s, at)
    write_aligned(out, aligned)
    return aligned
