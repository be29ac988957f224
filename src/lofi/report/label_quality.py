"""Label-quality report: tables (Markdown, CSV) and figures (error map, detector panel)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lofi.io.atomic import atomic_open
from lofi.io.figures import save_png
from lofi.report.paper import PAPER_SURVEY_CM, PAPER_VIEW_NAMES

VIEW_ORDER = tuple(PAPER_SURVEY_CM)


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def survey_table(table: pd.DataFrame, detector: str) -> str:
    """The paper's three-view table: our surveyed-points error beside the paper's.

    When the study also ran the detector with the foot-point correction, that
    column is shown too.
    """
    survey = table[table["experiment"] == "surveyed_points"]
    rows = survey[survey["detector"] == detector]
    corrected = survey[survey["detector"].astype(str).str.startswith(f"{detector}+")]
    label = corrected["detector"].iloc[0] if len(corrected) else None
    extra = f" {label} (cm) |" if label else ""
    lines = [
        f"| view | ours: {detector} mean error (cm) | median | p95 | detection rate |{extra} paper (cm) |",
        "|---|---|---|---|---|" + ("---|" if label else "") + "---|",
    ]
    for view in VIEW_ORDER:
        row = rows[rows["view"] == view]
        paper = (PAPER_VIEW_NAMES[view], PAPER_SURVEY_CM[view])
        fixed = corrected[corrected["view"] == view]
        fixed_cell = f" {_fmt(fixed['mean_cm'].iloc[0]) if len(fixed) else 'n/a'} |" if label else ""
        if row.empty:
            lines.append(f"| {view} | n/a | n/a | n/a | n/a |{fixed_cell} {paper[1]} ({paper[0]}) |")
            continue
        r = row.iloc[0]
        lines.append(
            f"| {view} | {_fmt(r.mean_cm)} | {_fmt(r.median_cm)} | {_fmt(r.p95_cm)} | "
            f"{_fmt(100 * r.detection_rate)} % |{fixed_cell} {paper[1]} ({paper[0]}) |"
        )
    return "\n".join(lines)


def comparison_table(table: pd.DataFrame, experiment: str) -> str:
    """Every detector in every view: errors, detection and wrong-object rates, speed."""
    rows = table[table["experiment"] == experiment].sort_values(["detector", "view", "session"])
    lines = [
        "| detector | view | session | frames | detection % | wrong object % "
        "| mean cm | median cm | p95 cm | frames/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.detector} | {r.view} | {r.session} | {r.frames} | {_fmt(100 * r.detection_rate)} | "
            f"{_fmt(100 * r.wrong_object_rate)} | {_fmt(r.mean_cm)} | {_fmt(r.median_cm)} | "
            f"{_fmt(r.p95_cm)} | {_fmt(r.fps)} |"
        )
    return "\n".join(lines)


def corrected_label(detector: str, foot_point: str, foot_offset_m: float, refined: bool = False) -> str:
    """Detector name of the corrected rows (``""`` when nothing is corrected), e.g.
    ``yolo+refined+upright+foot0.199``."""
    parts = [detector] + (["refined"] if refined else [])
    parts += [foot_point] if foot_point != "bottom_middle" else []
    parts += [f"foot{foot_offset_m:g}"] if foot_offset_m else []
    return "+".join(parts) if len(parts) > 1 else ""


def study_notes(table: pd.DataFrame, detectors: list[str]) -> list[str]:
    """One line per detector (surveyed-points error, detection and wrong-object rates, speed) and
    one per corrected variant (every-frame error before and after the correction)."""
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


def bottom_note(session: str, detector_px: float, refined_px: float) -> str:
    """How far a session's box bottoms are from the true ones (px), as detected and refined."""
    return (
        f"box bottoms in {session}: {detector_px:.1f} px mean error from the true box bottom as "
        f"detected, {refined_px:.1f} px refined against the empty room"
    )


def write_report(table: pd.DataFrame, out_dir: Path, best: str, notes: list[str]) -> None:
    """``label_quality.csv`` and ``label_quality.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.4f")
    with atomic_open(out_dir / "label_quality.csv", "w") as handle:
        handle.write(buffer.getvalue())
    text = [
        "# Label quality",
        "",
        "Vision labels against the simulator's truth. Errors are floor distances in cm between the",
        "label and the true body centre on the floor. *Wrong object*: the kept box's centre is more",
        "than 0.5 m from the true person's (at the person's depth). HOG and Haar are evaluated on",
        "every 5th frame.",
        "",
        "## The paper's experiment: 10 surveyed points, 2 people, 3 views",
        "",
        "Each standing period's labels are averaged into one point, as in the paper.",
        "",
        survey_table(table, best),
        "",
        "## Detector comparison at the surveyed points",
        "",
        comparison_table(table, "surveyed_points"),
        "",
        "## Every frame",
        "",
        comparison_table(table, "all_frames"),
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in notes],
        "",
        "Figures: `figures/label_error_map.png` (error over the floor), `figures/detectors_panel.png`",
        "(the detectors' boxes on the same frames, as in the paper's Fig. 2).",
        "",
    ]
    with atomic_open(out_dir / "label_quality.md", "w") as handle:
        handle.write("\n".join(text))


def error_map(
    positions: pd.DataFrame, truth: pd.DataFrame, region_m: tuple[float, float], path: Path
) -> None:
    """Floor map: mean label error (cm) in 0.3 m cells of the region."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    merged = positions.merge(truth[["frame", "x_m", "y_m"]], on="frame", suffixes=("", "_true"))
    merged = merged[merged["valid"]]
    error = np.hypot(merged["x_m"] - merged["x_m_true"], merged["y_m"] - merged["y_m_true"]) * 100
    w, d = region_m
    bins = [np.arange(0, w + 0.3, 0.3), np.arange(0, d + 0.3, 0.3)]
    total, _, _ = np.histogram2d(merged["x_m_true"], merged["y_m_true"], bins, weights=error)
    count, _, _ = np.histogram2d(merged["x_m_true"], merged["y_m_true"], bins)
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)
    fig, ax = plt.subplots(figsize=(3.6, 7.0), dpi=110)
    image = ax.pcolormesh(bins[0], bins[1], mean.T, cmap="viridis", shading="flat")
    fig.colorbar(image, ax=ax, label="mean label error (cm)")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    ax.set_title("label error over the floor")
    save_png(fig, path)


def detector_tile(image: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    """A copy of ``image`` with the kept xyxy ``box`` drawn, or "no person" when there is none."""
    tile = image.copy()
    if box is not None and np.isfinite(box[0]):
        x0, y0, x1, y1 = (round(v) for v in box)
        cv2.rectangle(tile, (x0, y0), (x1, y1), (0, 255, 255), 2)
    else:
        cv2.putText(tile, "no person", (200, 240), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2, cv2.LINE_AA)
    return tile


def detector_panel(
    tiles: dict[tuple[str, str], np.ndarray], detectors: list[str], views: list[str], path: Path
) -> None:
    """Rows of detectors, columns of views: each tile a frame with that detector's kept box."""
    rows = []
    for det in detectors:
        row = []
        for view in views:
            tile = tiles.get((det, view))
            tile = np.zeros((240, 320, 3), np.uint8) if tile is None else cv2.resize(tile, (320, 240))
            cv2.putText(
                tile,
                f"{det} / {view}",
                (6, 20),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.55,
                (255, 255, 255),
                2,
                cv2.LINE_AA,
            )
            row.append(tile)
        rows.append(np.hstack(row))
    ok, png = cv2.imencode(".png", np.vstack(rows))
    if ok:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as handle:
            handle.write(png.tobytes())
