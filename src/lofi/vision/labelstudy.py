"""``lofi label-quality``: run the study over sessions and write the report."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lofi.io.session import read_video_frames, read_yaml
from lofi.report.label_quality import detector_panel, error_map, write_report
from lofi.vision.calibration import load_calibration, region_size
from lofi.vision.foot_correction import FootCorrection
from lofi.vision.foot_refine import FootRefineOptions
from lofi.vision.localize import fit_foot_offset, localize
from lofi.vision.quality import bottom_errors_px
from lofi.vision.study import Evaluated, evaluate, score_positions

PANEL_POINT = 4  # the surveyed point shown in the detector panel


def fitted_foot_offset(
    sessions: list[Path],
    detector: str,
    options: dict,
    progress: bool,
    foot_point: str = "bottom_middle",
    refine: FootRefineOptions | None = None,
) -> float:
    """Median along-view label error (m) of ``detector`` on sessions with truth (other people).

    One value for all sessions and views, for the ``foot_point`` model, with box
    bottoms refined when ``refine`` is given.
    """
    errors = []
    for session in sessions:
        result = evaluate(
            session, detector, options, progress=progress, foot_point=foot_point,
            refine=refine, refined_bottom=refine is not None,
        )  # fmt: skip
        truth = pd.read_parquet(session / "truth" / "frames.parquet").set_index("frame")
        xy = truth.loc[result.positions["frame"], ["x_m", "y_m"]].to_numpy()
        calibration, _ = load_calibration(read_yaml(session / "calibration.yaml"), str(session))
        errors.append(fit_foot_offset(result.positions, xy, calibration, foot_point))
    return float(np.nanmedian(np.concatenate(errors)))


def run_label_study(
    survey: list[Path],
    walks: list[Path],
    detectors: list[str],
    weights: str,
    foot_offset_m: float,
    out_dir: Path,
    progress: bool = True,
    fit_on: list[Path] | None = None,
    foot_point: str = "bottom_middle",
    offset_note: str = "",
    refine: FootRefineOptions | None = None,
) -> str:
    """Score every detector on the survey sessions and the pipeline labels on the walks.

    Every detector is scored with the plain bottom-middle foot point (paper eq. 3).
    The first detector is also scored corrected: box bottoms refined (with
    ``refine``), ``foot_point`` model plus ``foot_offset_m``, or, with ``fit_on``
    (sessions of other people), the offset fitted there for that model.
    """
    rows, panel_runs = [], {}
    fitted_note = offset_note
    if fit_on:
        first = {"weights": weights} if detectors[0] == "yolo" else {}
        foot_offset_m = round(
            fitted_foot_offset(fit_on, detectors[0], first, progress, foot_point, refine), 3
        )
        fitted_note = FootCorrection(
            foot_offset_m, foot_point, detectors[0], [str(p) for p in fit_on], refine is not None
        ).note()
    label = corrected_label(detectors[0], foot_point, foot_offset_m, refine is not None)
    for session in survey:
        for det in detectors:
            options = {"weights": weights} if det == "yolo" else {}
            result = evaluate(
                session, det, options, progress=progress, refine=refine if det == detectors[0] else None
            )
            rows += [q.row() for q in result.qualities]
            panel_runs[(det, session)] = result
            if det == detectors[0] and label:
                corrected = evaluate(
                    session, det, options, foot_offset_m=foot_offset_m, progress=progress,
                    foot_point=foot_point, run=result.run, refined_bottom=refine is not None,
                )  # fmt: skip
                rows += [{**q.row(), "detector": label} for q in corrected.qualities]
    for session in walks:
        interim = Path("data/interim") / session.name
        positions = pd.read_parquet(interim / "positions.parquet")
        detections = pd.read_parquet(interim / "detections.parquet")
        rows.append(score_positions(session, positions, detections, "pipeline", float("nan")).row())
        correction = (foot_point, foot_offset_m, refine is not None)
        rows += _walk_variants(session, detections, detectors[0], label, correction)
    table = pd.DataFrame(rows)
    surveyed = table[table["experiment"] == "surveyed_points"]
    plain = surveyed[surveyed["detector"].isin(detectors)]
    best = plain.groupby("detector")["mean_cm"].mean().idxmin() if len(plain) else detectors[0]
    notes = _notes(table, detectors) + ([fitted_note] if fitted_note else [])
    if refine is not None:
        notes += [_bottom_note(panel_runs[detectors[0], session], session) for session in survey]
    write_report(table, out_dir, best, notes)
    _figures(survey, walks, detectors, panel_runs, out_dir / "figures")
    report = out_dir / "label_quality.md"
    return f"wrote {report} ({len(table)} rows); best detector at the surveyed points: {best}"


def _walk_variants(
    session: Path,
    detections: pd.DataFrame,
    first: str,
    label: str,
    correction: tuple[str, float, bool],
) -> list[dict]:
    """All-frames rows of a walk's detections, plain (bottom-middle, detector's box) and,
    for the first detector, corrected like the survey sessions: ``correction`` is the
    foot-point model, the offset (m) and whether to use the refined bottoms that the
    detect stage wrote."""
    calibration_file = session / "calibration.yaml"
    calibration, region = load_calibration(read_yaml(calibration_file), str(calibration_file))
    name = str(detections["detector"].iloc[0]) if len(detections) else "detector"
    variants = [(name, "bottom_middle", 0.0, False)]
    if label and name == first:
        variants.append((label, *correction))
    rows = []
    for det, model, offset, refined in variants:
        positions = localize(
            detections, calibration, region, offset, foot_point=model, refined_bottom=refined
        )
        rows.append(score_positions(session, positions, detections, det, float("nan")).row())
    return rows


def _bottom_note(result: Evaluated, session: Path) -> str:
    """How far the first detector's box bottoms are from the true ones, before and after refinement."""
    truth = pd.read_parquet(session / "truth" / "frames.parquet")
    detector_px, refined_px = bottom_errors_px(result.detections, truth)
    return (
        f"box bottoms in {session.name}: {detector_px:.1f} px mean error from the true box bottom as "
        f"detected, {refined_px:.1f} px refined against the empty room"
    )


def corrected_label(detector: str, foot_point: str, foot_offset_m: float, refined: bool = False) -> str:
    """Detector name of the corrected rows (``""`` when nothing is corrected)."""
    parts = [detector] + (["refined"] if refined else [])
    parts += [foot_point] if foot_point != "bottom_middle" else []
    parts += [f"foot{foot_offset_m:g}"] if foot_offset_m else []
    return "+".join(parts) if len(parts) > 1 else ""


def _notes(table: pd.DataFrame, detectors: list[str]) -> list[str]:
    survey = table[table["experiment"] == "surveyed_points"].groupby("detector")
    frames = table[table["experiment"] == "all_frames"].groupby("detector")
    notes = []
    for det in detectors:
        if det not in survey.groups:
            continue
        s = survey.get_group(det)
        f = frames.get_group(det)
        notes.append(
            f"{det}: surveyed-points mean error {s['mean_cm'].mean():.1f} cm over the views; every frame: "
            f"detection {100 * f['detection_rate'].mean():.0f} %, "
            f"wrong object {100 * f['wrong_object_rate'].mean():.0f} %, {f['fps'].mean():.0f} frames/s"
        )
    corrected = [d for d in survey.groups if "+" in str(d)]
    for name in corrected:
        base = name.split("+")[0]
        before = frames.get_group(base)["mean_cm"].mean()
        after = frames.get_group(name)["mean_cm"].mean()
        notes.append(f"foot-point correction ({name}): every-frame mean error {before:.1f} -> {after:.1f} cm")
    return notes


def _figures(survey: list[Path], walks: list[Path], detectors: list[str], runs: dict, out: Path) -> None:
    views, tiles = [], {}
    for session in survey:
        view = str(read_yaml(session / "session.yaml").get("camera_view", session.name))
        views.append(view)
        truth = pd.read_parquet(session / "truth" / "frames.parquet")
        standing = truth.index[(truth["point"] == PANEL_POINT) & (truth["frame"] % 5 == 0)]
        if len(standing) == 0:
            continue
        frame = int(truth.loc[standing[len(standing) // 2], "frame"])
        image = read_video_frames(session / "video.mp4", [frame])[0]
        for det in detectors:
            result: Evaluated = runs[(det, session)]
            row = result.detections[result.detections["frame"] == frame]
            tile = image.copy()
            if len(row) and np.isfinite(row["x0"].iloc[0]):
                x0, y0, x1, y1 = (round(v) for v in row[["x0", "y0", "x1", "y1"]].iloc[0])
                cv2.rectangle(tile, (x0, y0), (x1, y1), (0, 255, 255), 2)
            else:
                cv2.putText(
                    tile, "no person", (200, 240), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2, cv2.LINE_AA
                )
            tiles[(det, view)] = tile
    detector_panel(tiles, detectors, views, out / "detectors_panel.png")
    sessions = walks or survey
    positions, truths, region = [], [], None
    for session in sessions:
        path = Path("data/interim") / session.name / "positions.parquet"
        pos = pd.read_parquet(path) if walks and path.is_file() else runs[detectors[0], session].positions
        truth = pd.read_parquet(session / "truth" / "frames.parquet")
        offset = len(positions) * 10_000_000  # keep frame numbers of sessions apart
        positions.append(pos.assign(frame=pos["frame"] + offset))
        truths.append(truth.assign(frame=truth["frame"] + offset))
        region = region or region_size(read_yaml(session / "calibration.yaml"))
    if positions and region:
        error_map(pd.concat(positions), pd.concat(truths), region, out / "label_error_map.png")
