"""Stage ``localize``: detections -> floor positions through the session's calibration (eqs. 2-3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.foot_correction import read_foot_correction
from lofi.io.matrix_table import TableFileError
from lofi.io.provenance import read_provenance
from lofi.io.session import SESSION_CALIBRATION, SESSION_FRAMES, read_yaml
from lofi.io.tables import read_table, write_table
from lofi.io.video import read_frames_csv
from lofi.stages.detect import frames_provenance
from lofi.vision.calibration import Calibration, load_calibration
from lofi.vision.localize import localize


def session_calibration(session: Path) -> tuple[Calibration, tuple[float, float] | None]:
    """The session's pixel-to-floor calibration and its floor region size (w, d) in m."""
    path = session / SESSION_CALIBRATION
    return load_calibration(read_yaml(path), str(path))


@dataclass(frozen=True)
class FootOffset:
    """The foot-point correction to apply: a value in m, or the file ``lofi fit-foot-offset`` wrote."""

    metres: float = 0.0
    from_file: Path | None = None

    def resolve(self, foot_point: str, detections: pd.DataFrame, detector: str | None = None) -> float:
        """The offset (m); a fitted file must match ``foot_point``, the kind of box bottoms and the
        detector that made ``detections`` (when they record it).

        The bottom check applies only when the detector found someone: with no box at
        all, nothing tells refined from detector bottoms.
        """
        if self.from_file is None:
            return self.metres
        found = bool(np.isfinite(detections["x0"]).any())
        refined = "foot_y" in detections and bool(np.isfinite(detections["foot_y"]).any())
        correction = read_foot_correction(self.from_file, foot_point, refined if found else None)
        if detector is not None and correction.detector != detector:
            raise ValueError(
                f"{self.from_file}: fitted on {correction.detector} boxes, but the detections come from "
                f"{detector}: a foot offset belongs to one detector's boxes; fit one for {detector}"
            )
        return correction.foot_offset_m


def check_same_session(session: Path, path: Path, detections: pd.DataFrame) -> dict:
    """Refuse detections made from another session's video; returns the session's provenance.

    The recorded provenance (session id, ``frames.csv`` hash) must match when present, and
    every detection's frame must exist in the session with the same host time.
    """
    frames = read_frames_csv(session / SESSION_FRAMES)
    expected = frames_provenance(session)
    recorded = read_provenance(path)
    if recorded and recorded.get("frames_csv_sha256") != expected["frames_csv_sha256"]:
        raise TableFileError(
            f"{path}: made from session {recorded.get('session')!r} (a different frames.csv), not from "
            f"{session}; run `lofi detect {session}`"
        )
    frame = detections["frame"].to_numpy()
    if len(frame) and (frame.min() < 0 or frame.max() >= len(frames)):
        raise TableFileError(
            f"{path}: frame {int(frame.max())} is not among the {len(frames):,} frames of {session}"
        )
    t = frames["t_host"].to_numpy()[frame]
    off = np.flatnonzero(np.abs(detections["t_host"].to_numpy(np.float64) - t) > 1e-6)
    if len(off):
        k = int(off[0])
        found = float(detections["t_host"].iloc[k])
        raise TableFileError(
            f"{path}: frame {int(frame[k])} is at t_host {found:.6f} but {session}/frames.csv has "
            f"{t[k]:.6f}: these detections belong to another session"
        )
    return expected


@dataclass
class LocalizeResult:
    """Positions written to ``out`` and the count of frames per reason (``valid`` for labelled ones)."""

    positions: pd.DataFrame
    out: Path
    counts: dict[str, int]


def run_localize(
    session: Path, detections_path: Path, out: Path, foot_point: str, offset: FootOffset
) -> LocalizeResult:
    """Map ``detections_path``'s boxes to the floor with ``session``'s calibration; write ``out``."""
    if not detections_path.is_file():
        raise OSError(f"{detections_path}: no detections; run `lofi detect {session}` first")
    calibration, region = session_calibration(session)
    detections = read_table(detections_path, "detections")
    provenance = check_same_session(session, detections_path, detections)
    metres = offset.resolve(foot_point, detections, read_provenance(detections_path).get("detector"))
    positions = localize(detections, calibration, region, metres, foot_point=foot_point)
    write_table(out, positions, {**provenance, "written_by": "lofi localize"})
    counts = positions["reason"].replace("", "valid").value_counts().to_dict()
    return LocalizeResult(positions, out, {str(k): int(v) for k, v in counts.items()})
