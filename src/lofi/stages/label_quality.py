"""Stage ``label-quality``: the paper's surveyed-points experiment and the walk labels, against truth.

Every detector is scored on the surveyed-points sessions with the plain bottom-middle
foot point (paper eq. 3); the first detector is also scored corrected (box bottoms
refined, the chosen foot-point model plus the foot offset). The walk labels that the
pipeline's own stages wrote are scored on every frame. Tables and figures come from
:mod:`lofi.report.label_quality`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.foot_correction import read_foot_correction
from lofi.io.tables import read_table
from lofi.io.video import read_video_frames
from lofi.report.label_quality import (
    bottom_note,
    corrected_label,
    detector_panel,
    detector_tile,
    error_map,
    study_notes,
    write_report,
)
from lofi.stages.detect import DetectorChoice
from lofi.stages.fit_foot_offset import fit_correction
from lofi.stages.study import Evaluated, StudySession, detect_for_study, evaluate
from lofi.vision.foot_refine import FootRefineOptions
from lofi.vision.localize import localize
from lofi.vision.quality import bottom_errors_px

PANEL_POINT = 4  # the surveyed point shown in the detector panel


@dataclass(frozen=True)
class WalkLabels:
    """A walking session and the detections and positions the pipeline wrote for it."""

    session: Path
    detections: Path
    positions: Path


@dataclass(frozen=True)
class Correction:
    """How the first detector's corrected labels are made: box bottoms refined (``refine``), the
    ``foot_point`` model and ``foot_offset_m`` (m) away from the camera; ``note`` says where the
    offset came from."""

    foot_point: str = "upright"
    foot_offset_m: float = 0.0
    refine: FootRefineOptions | None = None
    note: str = ""

    @property
    def refined(self) -> bool:
        return self.refine is not None


def correction_from_file(path: Path, foot_point: str, refine: FootRefineOptions | None) -> Correction:
    """The correction ``lofi fit-foot-offset`` wrote, checked against ``foot_point`` and the bottoms."""
    fitted = read_foot_correction(path, foot_point, refine is not None)
    return Correction(foot_point, fitted.foot_offset_m, refine, fitted.note())


def correction_fitted_on(
    sessions: list[Path],
    detector: DetectorChoice,
    foot_point: str,
    refine: FootRefineOptions | None,
    progress: bool,
) -> Correction:
    """A correction fitted here on ``sessions`` (other people than the evaluated ones)."""
    fitted = fit_correction(sessions, detector, foot_point, refine, progress)
    return Correction(foot_point, fitted.foot_offset_m, refine, fitted.note())


def run_label_quality(
    survey: list[Path],
    walks: list[WalkLabels],
    detectors: list[DetectorChoice],
    correction: Correction,
    out_dir: Path,
    progress: bool = True,
) -> str:
    """Score every detector on ``survey`` and the pipeline labels of ``walks``; write the report.

    Returns a one-line summary naming the report and the detector its summary table shows.
    """
    surveys = [StudySession.load(s) for s in survey]
    names = [d.name for d in detectors]
    label = corrected_label(names[0], correction.foot_point, correction.foot_offset_m, correction.refined)
    rows, runs = _survey_rows(surveys, detectors, correction, label, progress)
    walk_positions = []
    for walk in walks:
        session = StudySession.load(walk.session)
        positions = read_table(walk.positions, "positions")
        detections = read_table(walk.detections, "detections")
        rows.append(session.score(positions, detections, "pipeline", float("nan")).row())
        rows += _walk_variants(session, detections, names[0], label, correction)
        walk_positions.append((session, positions))
    table = pd.DataFrame(rows)
    best = _best_detector(table, names)
    notes = study_notes(table, names) + ([correction.note] if correction.note else [])
    if correction.refined:
        notes += [
            bottom_note(s.name, *bottom_errors_px(runs[names[0], s.name].detections, s.truth))
            for s in surveys
        ]
    write_report(table, out_dir, best, notes)
    figures = out_dir / "figures"
    _panel(surveys, names, runs, figures / "detectors_panel.png")
    mapped = walk_positions or [(s, runs[names[0], s.name].positions) for s in surveys]
    _error_map(mapped, figures / "label_error_map.png")
    report = out_dir / "label_quality.md"
    return f"wrote {report} ({len(table)} rows); summary table: {best} (the labels' detector, else the best)"


def _survey_rows(
    surveys: list[StudySession],
    detectors: list[DetectorChoice],
    correction: Correction,
    label: str,
    progress: bool,
) -> tuple[list[dict], dict[tuple[str, str], Evaluated]]:
    """Quality rows of every detector on every survey session (plain, and corrected for the first)."""
    rows, runs = [], {}
    first = detectors[0].name
    for session in surveys:
        for detector in detectors:
            refine = correction.refine if detector.name == first else None
            run = detect_for_study(session, detector, progress, refine)
            result = evaluate(session, run, detector.name)
            rows += [q.row() for q in result.qualities]
            runs[detector.name, session.name] = result
            if detector.name == first and label:
                corrected = evaluate(
                    session,
                    run,
                    detector.name,
                    correction.foot_offset_m,
                    correction.foot_point,
                    refined_bottom=correction.refined,
                )
                rows += [{**q.row(), "detector": label} for q in corrected.qualities]
    return rows, runs


def _walk_variants(
    session: StudySession, detections: pd.DataFrame, first: str, label: str, correction: Correction
) -> list[dict]:
    """All-frames rows of a walk's detections, plain (bottom-middle, detector's box) and, for the
    first detector, corrected like the survey sessions (using the refined bottoms the detect stage wrote)."""
    name = str(detections["detector"].iloc[0]) if len(detections) else "detector"
    variants = [(name, "bottom_middle", 0.0, False)]
    if label and name == first:
        variants.append((label, correction.foot_point, correction.foot_offset_m, correction.refined))
    rows = []
    for detector, model, offset, refined in variants:
        positions = localize(
            detections, session.calibration, session.region, offset, foot_point=model, refined_bottom=refined
        )
        rows.append(session.score(positions, detections, detector, float("nan")).row())
    return rows


def _best_detector(table: pd.DataFrame, detectors: list[str]) -> str:
    """The detector the summary shows: the one the study also ran with the pipeline's foot-point
    correction (the labels' own), else the plain detector with the lowest mean surveyed-points error
    over the views. A detector that misses most frames can have a low mean over the few it finds, so
    the labels' detector comes first."""
    surveyed = table[table["experiment"] == "surveyed_points"]
    names = surveyed["detector"].astype(str)
    corrected = [d for d in detectors if names.str.startswith(f"{d}+").any()]
    if corrected:
        return corrected[0]
    plain = surveyed[surveyed["detector"].isin(detectors)]
    return plain.groupby("detector")["mean_cm"].mean().idxmin() if len(plain) else detectors[0]


def _panel(
    surveys: list[StudySession], detectors: list[str], runs: dict[tuple[str, str], Evaluated], path: Path
) -> None:
    """The detectors' kept boxes on one frame per view (a person standing at :data:`PANEL_POINT`)."""
    tiles = {}
    for session in surveys:
        truth = session.truth
        standing = truth.index[(truth["point"] == PANEL_POINT) & (truth["frame"] % 5 == 0)]
        if len(standing) == 0:
            continue
        frame = int(truth.loc[standing[len(standing) // 2], "frame"])
        image = read_video_frames(session.folder / "video.mp4", [frame])[0]
        for detector in detectors:
            detections = runs[detector, session.name].detections
            row = detections[detections["frame"] == frame]
            box = row[["x0", "y0", "x1", "y1"]].to_numpy(np.float64)[0] if len(row) else None
            tiles[detector, session.view] = detector_tile(image, box)
    detector_panel(tiles, detectors, [s.view for s in surveys], path)


def _error_map(labelled: list[tuple[StudySession, pd.DataFrame]], path: Path) -> None:
    """Floor map of the label error over the given sessions' positions."""
    positions, truths = [], []
    region = next((s.region for s, _ in labelled if s.region), None)
    for k, (session, pos) in enumerate(labelled):
        offset = k * 10_000_000  # keep frame numbers of sessions apart
        positions.append(pos.assign(frame=pos["frame"] + offset))
        truths.append(session.truth.assign(frame=session.truth["frame"] + offset))
    if positions and region:
        error_map(pd.concat(positions), pd.concat(truths), region, path)
