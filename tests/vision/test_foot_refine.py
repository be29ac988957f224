"""Box-bottom refinement against the empty room: synthetic images and a rendered session."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
import pytest

from lofi.sim.session import SessionSpec
from lofi.stages.detect import detect_session
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import simulate_session
from lofi.vision.detectors.base import Detections
from lofi.vision.foot_refine import (
    FootRefineError,
    FootRefineOptions,
    background_indices,
    median_background,
    refine_bottom,
    run_end,
)
from lofi.vision.localize import detection_boxes

SCENE = load_scene("lab")
FEET_ROW = 300  # first row below the synthetic person's feet


def room_and_person() -> tuple[np.ndarray, np.ndarray]:
    """A textured floor, and the same floor with two dark legs ending at FEET_ROW and a
    soft shadow (45 % darker) reaching 25 rows below them."""
    rng = np.random.default_rng(0)
    background = rng.integers(100, 140, (480, 640, 3)).astype(np.uint8)
    image = background.copy()
    yy, xx = np.mgrid[0:480, 0:640]
    shadow = ((xx - 180) / 70.0) ** 2 + ((yy - FEET_ROW) / 25.0) ** 2 < 1.0
    image[shadow] = (image[shadow] * 0.55).astype(np.uint8)
    image[100:FEET_ROW, 150:172] = (35, 35, 40)
    image[100:FEET_ROW, 188:210] = (35, 35, 40)
    return background.astype(np.float32), image


@pytest.mark.parametrize("detected_bottom", [280.0, 300.0, 318.0])
def test_refined_bottom_finds_the_feet_not_the_shadow(detected_bottom):
    background, image = room_and_person()
    box = np.array([140.0, 100.0, 220.0, detected_bottom])
    assert refine_bottom(image, box, background, FootRefineOptions()) == FEET_ROW


def test_without_the_shadow_test_the_shadow_pulls_the_bottom_down():
    background, image = room_and_person()
    box = np.array([140.0, 100.0, 220.0, 300.0])
    no_shadow_test = FootRefineOptions(shadow_ratio=(0.0, 0.0))
    assert refine_bottom(image, box, background, no_shadow_test) > FEET_ROW + 10


def test_no_box_or_nothing_to_follow_gives_nan():
    background, image = room_and_person()
    options = FootRefineOptions()
    assert np.isnan(refine_bottom(image, np.full(4, np.nan), background, options))
    empty_floor = np.array([400.0, 100.0, 480.0, 300.0])  # no person at the band's top
    assert np.isnan(refine_bottom(image, empty_floor, background, options))


def test_run_end_bridges_short_gaps_only():
    rows = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 1], bool)
    assert run_end(rows, max_gap=3) == 5
    assert run_end(rows, max_gap=4) == 10
    assert run_end(~rows, max_gap=3) is None


def test_background_needs_frames():
    with pytest.raises(FootRefineError, match=r"video\.mp4: no frames"):
        median_background([], 0, "video.mp4")
    frame = np.zeros((4, 6, 3), np.uint8)
    with pytest.raises(FootRefineError, match="only 2 of 10 background frames decoded"):
        median_background([frame, frame], 10, "video.mp4")
    with pytest.raises(FootRefineError, match="frames of different sizes"):
        median_background([frame] * 4 + [np.zeros((5, 6, 3), np.uint8)], 5)
    background = median_background([frame, frame + 2, frame + 4, frame + 6, frame + 8], 5)
    assert background.dtype == np.float32 and np.all(background == 4.0)


def test_background_frames_are_spread_over_the_video():
    assert background_indices(100, 5) == [0, 24, 49, 74, 99]
    assert background_indices(3, 60) == [0, 1, 2]
    assert background_indices(0, 60) == []


class OffsetTruthDetector:
    """The true boxes of a session with their bottoms moved by +-``error_px`` (a stand-in for a
    detector whose box bottoms are off)."""

    name = "offset_truth"

    def __init__(self, truth: pd.DataFrame, error_px: float) -> None:
        self.boxes = truth[["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy(np.float64)
        self.error_px = error_px

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]:
        for k, _ in enumerate(frames):
            box = self.boxes[k].copy()
            if not np.isfinite(box).all():
                yield Detections.empty()
                continue
            box[3] += self.error_px if k % 2 else -self.error_px
            yield Detections(box[None], np.ones(1), ("person",))


def test_refinement_recovers_true_bottoms_in_a_rendered_session(tmp_path):
    session = tmp_path / "walk"
    spec = SessionSpec("walk", ("S2",), "paper", "walk", duration_s=8.0, seed=5)
    simulate_session(SCENE, spec, session, False)
    truth = pd.read_parquet(session / "truth" / "frames.parquet")
    detector = OffsetTruthDetector(truth, error_px=12.0)
    run = detect_session(session, detector, progress=False, refine=FootRefineOptions())
    true_bottom = truth["box_y1"].to_numpy()
    detected_error = np.nanmean(np.abs(run.table["y1"].to_numpy() - true_bottom))
    refined_error = np.abs(run.table["foot_y"].to_numpy() - true_bottom)
    assert detected_error == pytest.approx(12.0)
    assert np.isfinite(refined_error).mean() > 0.95
    assert np.nanmean(refined_error) < 2.0
    boxes = detection_boxes(run.table)
    refined = np.isfinite(run.table["foot_y"].to_numpy())
    assert np.array_equal(boxes[refined, 3], run.table["foot_y"].to_numpy()[refined])
    assert np.array_equal(detection_boxes(run.table, refined_bottom=False)[:, 3], run.table["y1"].to_numpy())


def test_a_box_that_stops_well_above_the_feet_is_followed_down():
    background, image = room_and_person()
    short = np.array([140.0, 100.0, 220.0, 240.0])  # 60 px short; the band reaches only 21 px below
    assert refine_bottom(image, short, background, FootRefineOptions()) == FEET_ROW
    no_extension = FootRefineOptions(max_extensions=0)
    assert refine_bottom(image, short, background, no_extension) < FEET_ROW
