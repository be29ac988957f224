"""Label-quality tables and notes from a hand-made results table."""

from __future__ import annotations

import pandas as pd

from lofi.report.label_quality import bottom_note, corrected_label, study_notes, survey_table
from lofi.report.paper import PAPER_SURVEY_CM, PAPER_VIEW_NAMES


def row(view: str, detector: str, experiment: str, mean_cm: float, **extra) -> dict:
    base = {
        "session": f"s_{view}", "view": view, "detector": detector, "experiment": experiment, "frames": 20,
        "detection_rate": 0.9, "wrong_object_rate": 0.05, "mean_cm": mean_cm, "median_cm": mean_cm - 1,
        "p95_cm": mean_cm + 5, "fps": 40.0,
    }  # fmt: skip
    return {**base, **extra}


def test_paper_numbers_are_keyed_by_our_view_names():
    assert PAPER_SURVEY_CM == {"paper": 17.44, "side": 12.13, "corner": 11.82}
    assert set(PAPER_VIEW_NAMES) == set(PAPER_SURVEY_CM)


def test_survey_table_matches_views_by_name_not_position():
    table = pd.DataFrame(
        [
            row("corner", "yolo", "surveyed_points", 9.0),
            row("corner", "yolo+upright", "surveyed_points", 4.0),
            row("side", "hog", "surveyed_points", 80.0),
        ]
    )
    lines = survey_table(table, "yolo").splitlines()
    assert lines[0].endswith("| yolo+upright (cm) | paper (cm) |")
    assert lines[2] == "| paper | n/a | n/a | n/a | n/a | n/a | 17.44 (view 1) |"
    assert lines[3] == "| side | n/a | n/a | n/a | n/a | n/a | 12.13 (view 2) |"
    assert lines[4] == "| corner | 9.0 | 8.0 | 14.0 | 90.0 % | 4.0 | 11.82 (view 3) |"


def test_corrected_label_names_what_was_corrected():
    assert corrected_label("yolo", "upright", 0.199, refined=True) == "yolo+refined+upright+foot0.199"
    assert corrected_label("yolo", "bottom_middle", 0.12) == "yolo+foot0.12"
    assert corrected_label("yolo", "bottom_middle", 0.0) == ""


def test_study_notes_summarise_each_detector_and_correction():
    table = pd.DataFrame(
        [
            row("paper", "yolo", "surveyed_points", 10.0),
            row("side", "yolo", "surveyed_points", 20.0),
            row("paper", "yolo", "all_frames", 30.0, detection_rate=0.5),
            row("paper", "yolo+upright", "surveyed_points", 5.0),
            row("paper", "yolo+upright", "all_frames", 12.0),
        ]
    )
    notes = study_notes(table, ["yolo", "hog"])
    assert notes == [
        "yolo: surveyed-points mean error 15.0 cm over the views; every frame: detection 50 %, "
        "wrong object 5 %, 40 frames/s",
        "foot-point correction (yolo+upright): every-frame mean error 30.0 -> 12.0 cm",
    ]
    assert bottom_note("s1", 8.26, 0.84) == (
        "box bottoms in s1: 8.3 px mean error from the true box bottom as detected, "
        "0.8 px refined against the empty room"
    )
