"""Calibration: homography accuracy against synthetic truth, and every rejection."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.sim.camera import CameraModel
from lofi.stages.scenes import load_scene
from lofi.vision.calibration import Calibration, CalibrationError, Lens, calibration_from_dict, region_size

SCENE = load_scene("lab")


def camera(view: str) -> CameraModel:
    return CameraModel.from_scene(SCENE.camera(view))


def floor_grid() -> np.ndarray:
    w, d = SCENE.region.size_m
    return np.array([[x, y] for x in np.linspace(0, w, 7) for y in np.linspace(0, d, 13)])


@pytest.mark.parametrize("view", ["paper", "side", "corner"])
def test_exact_anchors_with_lens_give_sub_centimetre_floor_positions(view):
    model = camera(view)
    corners = SCENE.region.corners
    pixels = model.project(np.c_[SCENE.region.to_room(corners), np.zeros(4)])
    calib = Calibration(pixels, corners, model.size_px, Lens(model.K, model.dist))
    grid = floor_grid()
    seen = model.project(np.c_[SCENE.region.to_room(grid), np.zeros(len(grid))])
    error = np.linalg.norm(calib.to_floor(seen) - grid, axis=1)
    assert error.max() < 0.01
    assert calib.reprojection_error_m().max() < 1e-6
    assert np.allclose(calib.to_pixels(grid), seen, atol=0.05)


def test_ignoring_the_lens_costs_accuracy():
    model = camera("side")
    corners = SCENE.region.corners
    pixels = model.project(np.c_[SCENE.region.to_room(corners), np.zeros(4)])
    grid = floor_grid()
    seen = model.project(np.c_[SCENE.region.to_room(grid), np.zeros(len(grid))])
    error = np.linalg.norm(Calibration(pixels, corners).to_floor(seen) - grid, axis=1)
    assert error.max() > 0.005  # vs < 0.01 m everywhere with the lens


def test_more_anchors_use_least_squares_and_ransac_drops_an_outlier():
    model = camera("side")
    floor = floor_grid()[::5]
    pixels = model.project(np.c_[SCENE.region.to_room(floor), np.zeros(len(floor))])
    lens = Lens(model.K, model.dist)
    assert Calibration(pixels, floor, lens=lens).reprojection_error_m().max() < 1e-4
    pixels[3] += [40.0, -30.0]
    robust = Calibration(pixels, floor, lens=lens, ransac=True)
    assert not robust.inliers[3] and robust.inliers.sum() == len(floor) - 1


@pytest.mark.parametrize(
    ("pixels", "floor", "size", "message"),
    [
        ([[0, 0], [100, 0], [100, 100]], [[0, 0], [1, 0], [1, 1]], None, "at least 4 anchors"),
        (
            [[0, 0], [100, 0], [200, 1], [50, 300]],
            [[0, 0], [1, 0], [2, 0.5], [0, 3]],
            None,
            r"anchors \(0, 1, 2\) are collinear in pixel",
        ),
        (
            [[0, 0], [100, 0], [100, 100], [0, 100]],
            [[0, 0], [1, 0], [2, 0], [0, 1]],
            None,
            "collinear in floor",
        ),
        (
            [[0, 0], [100, 0], [100, 100], [0, 700]],
            [[0, 0], [1, 0], [1, 1], [0, 1]],
            (640, 480),
            "outside the 640x480 image",
        ),
        (
            [[0, 0], [100, 0], [100, 100], [0, 100]],
            [[0, 0], [1, 0], [1, 1]],
            None,
            "4 pixel anchors but 3 floor",
        ),
        ([[0, 0], [100, 0], [100, np.nan], [0, 100]], [[0, 0], [1, 0], [1, 1], [0, 1]], None, "finite"),
    ],
)
def test_degenerate_anchor_sets_are_rejected(pixels, floor, size, message):
    with pytest.raises(CalibrationError, match=message):
        Calibration(np.array(pixels, float), np.array(floor, float), size)


SQUARE = [
    {"pixel": p, "floor": f}
    for p, f in zip([[0, 0], [9, 0], [9, 9], [0, 9]], [[0, 0], [1, 0], [1, 1], [0, 1]], strict=True)
]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"anchors": [{"pixel": [1, 2]}]}, r"calib\.yaml: anchors\[0\]: anchors must be a list of"),
        ({"anchors": "here"}, r"calib\.yaml: anchors must be a list"),
        ({"anchors": [{"pixel": [1, 2, 3], "floor": [0, 0]}]}, r"anchors\[0\]\.pixel: expected 2 numbers"),
        ({"anchors": [*SQUARE[:3], {"pixel": [0, 9], "floor": [0, 1e308]}]}, r"anchor 3 floor .* beyond"),
        ({"anchors": SQUARE, "intrinsics": {"fx": 1}}, r"calib\.yaml: intrinsics\.fy: missing"),
        (
            {"anchors": SQUARE, "intrinsics": {"fx": 0, "fy": 1, "cx": 0, "cy": 0}},
            r"intrinsics\.fx: 0 must be > 0",
        ),
        (
            {"anchors": SQUARE, "intrinsics": {"fx": ".nan", "fy": 1, "cx": 0, "cy": 0}},
            r"intrinsics\.fx: expected",
        ),
        (
            {"anchors": SQUARE, "intrinsics": {"fx": 5, "fy": 5, "cx": 4, "cy": 4}, "distortion": [0.1]},
            r"distortion: expected 4, 5 or 8 numbers",
        ),
        ({"anchors": SQUARE, "image_size": [0, 480]}, r"image_size: expected two positive whole numbers"),
    ],
)
def test_calibration_yaml_structure_errors_name_the_file_and_field(data, message):
    with pytest.raises(CalibrationError, match=message):
        calibration_from_dict(data, "calib.yaml")


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ({"x_m": [0, 0], "y_m": [0, 4.8]}, r"calib\.yaml: region\.x_m: \[0, 0\] must have hi > lo"),
        ({"x_m": [0, -1], "y_m": [0, 4.8]}, r"region\.x_m: \[0, -1\] must have hi > lo"),
        ({"x_m": [0, float("nan")], "y_m": [0, 4.8]}, r"region\.x_m: expected a finite number"),
        ({"x_m": [0, 1.8]}, r"region must be"),
    ],
)
def test_region_errors_name_the_field(region, message):
    with pytest.raises(CalibrationError, match=message):
        region_size({"region": region}, "calib.yaml")
    assert region_size({}, "calib.yaml") is None
    assert region_size({"region": {"x_m": [0, 1.8], "y_m": [0.5, 4.8]}}) == pytest.approx((1.8, 4.3))


def test_nan_pixels_map_to_nan():
    calib = Calibration(
        np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float),
        np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float),
    )
    out = calib.to_floor(np.array([[5.0, 5.0], [np.nan, np.nan]]))
    assert np.allclose(out[0], [0.5, 0.5]) and np.isnan(out[1]).all()


@pytest.mark.parametrize("view", ["paper", "side", "corner"])
def test_camera_pose_recovers_the_camera_position_and_vertical_vanishing_point(view):
    model = camera(view)
    corners = SCENE.region.corners
    pixels = model.project(np.c_[SCENE.region.to_room(corners), np.zeros(4)])
    pose = Calibration(pixels, corners, model.size_px, Lens(model.K, model.dist)).camera_pose()
    expected = model.C - [*SCENE.region.origin_m, 0.0]
    assert np.allclose(pose.position, expected, atol=0.01)
    assert np.allclose(pose.nadir, expected[:2], atol=0.01)
    # A vertical pole's image passes through the vanishing point (ideal pixels).
    lens = Lens(model.K, model.dist)
    pole = np.array([[0.4, 1.0, 0.0], [0.4, 1.0, 1.7]])
    ends = lens.undistort(model.project(np.c_[SCENE.region.to_room(pole[:, :2]), pole[:, 2]]))
    line = np.cross(np.r_[ends[0], 1.0], np.r_[ends[1], 1.0])
    vp = pose.vertical_vanishing_point
    assert abs(line @ vp) / (np.linalg.norm(line[:2]) * abs(vp[2])) < 0.5  # pixels


def test_lens_distort_inverts_undistort():
    model = camera("paper")
    lens = Lens(model.K, model.dist)
    pixels = np.array([[100.0, 80.0], [320.0, 240.0], [540.0, 400.0]])  # undistort iterates: not the corners
    assert np.allclose(lens.distort(lens.undistort(pixels)), pixels, atol=0.05)


def test_camera_pose_needs_intrinsics():
    pixels = np.array([[0, 0], [100, 0], [100, 400], [0, 400]], float)
    with pytest.raises(CalibrationError, match="intrinsics"):
        Calibration(pixels, pixels / 100).camera_pose()
