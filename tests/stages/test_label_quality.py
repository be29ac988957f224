"""The label-quality stage on a tiny synthetic survey session and walk, with the fast bgsub detector."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import pandas as pd
import pytest

from lofi.sim.session import SessionSpec
from lofi.stages.detect import DetectorChoice, run_detect
from lofi.stages.label_quality import Correction, WalkLabels, run_label_quality
from lofi.stages.localize import FootOffset, run_localize
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import simulate_session
from lofi.vision.foot_refine import FootRefineOptions

BGSUB = DetectorChoice("bgsub", {})
CORRECTION = Correction("upright", 0.2, FootRefineOptions())
CORRECTED = "bgsub+refined+upright+foot0.2"


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A one-person survey (0.5 s per point), a 4-s walk labelled by detect + localize, and the report."""
    root = tmp_path_factory.mktemp("label_quality")
    scene = load_scene("lab")
    survey, walk = root / "raw" / "t_survey", root / "raw" / "t_walk"
    simulate_session(
        scene, SessionSpec("t_survey", ("S1",), "paper", "survey", stand_s=0.5, seed=3), survey, False
    )
    simulate_session(
        scene, SessionSpec("t_walk", ("S2",), "paper", "walk", duration_s=4.0, seed=4), walk, False
    )
    labels = WalkLabels(walk, root / "interim" / "detections.parquet", root / "interim" / "positions.parquet")
    run_detect(walk, BGSUB, labels.detections, refine=CORRECTION.refine, progress=False)
    run_localize(walk, labels.detections, labels.positions, "upright", FootOffset(0.2))
    summary = run_label_quality([survey], [labels], [BGSUB], CORRECTION, root / "results", progress=False)
    assert "summary table: bgsub" in summary
    return root / "results"


def rows(study: Path, detector: str, experiment: str) -> pd.DataFrame:
    table = pd.read_csv(study / "label_quality.csv")
    return table[(table["detector"] == detector) & (table["experiment"] == experiment)]


def test_every_detector_and_session_gets_its_rows(study):
    table = pd.read_csv(study / "label_quality.csv")
    got = set(zip(table["session"], table["detector"], table["experiment"], strict=True))
    assert got == {
        ("t_survey", "bgsub", "all_frames"),
        ("t_survey", "bgsub", "surveyed_points"),
        ("t_survey", CORRECTED, "all_frames"),
        ("t_survey", CORRECTED, "surveyed_points"),
        ("t_walk", "pipeline", "all_frames"),
        ("t_walk", "bgsub", "all_frames"),
        ("t_walk", CORRECTED, "all_frames"),
    }
    assert rows(study, "bgsub", "surveyed_points")["frames"].item() == 10  # one person at 10 points


def test_the_correction_brings_the_surveyed_points_close(study):
    plain = rows(study, "bgsub", "surveyed_points")["mean_cm"].item()
    corrected = rows(study, CORRECTED, "surveyed_points")["mean_cm"].item()
    # Measured: 26.7 cm plain (bgsub boxes include the shadow), 7.3 cm refined + upright + 0.2 m.
    assert corrected < 15 < plain


def test_the_walk_labels_score_like_their_correction(study):
    """The pipeline's labels (detect + localize with the same correction) are the corrected variant."""
    pipeline = rows(study, "pipeline", "all_frames").iloc[0]
    corrected = rows(study, CORRECTED, "all_frames").query("session == 't_walk'").iloc[0]
    assert pipeline["mean_cm"] == pytest.approx(corrected["mean_cm"])
    assert pipeline["frames"] == corrected["frames"] == 112


def test_report_puts_our_numbers_beside_the_papers(study):
    report = (study / "label_quality.md").read_text()
    ours = rows(study, "bgsub", "surveyed_points").iloc[0]
    fixed = rows(study, CORRECTED, "surveyed_points")["mean_cm"].item()
    assert f"| paper | {ours['mean_cm']:.1f} | {ours['median_cm']:.1f} |" in report
    assert f"| {fixed:.1f} | 17.44 (view 1) |" in report
    assert "| side | n/a | n/a | n/a | n/a | n/a | 12.13 (view 2) |" in report
    note = re.search(r"box bottoms in t_survey: ([\d.]+) px .* as detected, ([\d.]+) px refined", report)
    assert note and float(note[2]) < float(note[1])


def test_figures_are_written(study):
    panel = cv2.imread(str(study / "figures" / "detectors_panel.png"))
    assert panel.shape == (240, 320, 3)  # one detector x one view
    assert (study / "figures" / "label_error_map.png").stat().st_size > 5_000


def test_the_summary_shows_the_labels_detector_not_a_rarely_detecting_one():
    """bgsub finds the person in few frames, so its mean over those can beat YOLO's: the summary
    still shows YOLO, whose corrected variant made the labels."""
    from lofi.stages.label_quality import _best_detector

    table = pd.DataFrame(
        {
            "experiment": ["surveyed_points"] * 3,
            "detector": ["bgsub", "yolo", "yolo+refined+upright+foot0.2"],
            "mean_cm": [23.0, 25.0, 4.0],
        }
    )
    assert _best_detector(table, ["yolo", "bgsub"]) == "yolo"
    assert (
        _best_detector(table[table["detector"] != "yolo+refined+upright+foot0.2"], ["yolo", "bgsub"])
        == "bgsub"
    )
