"""``lofi calibrate --live``: a camera's frame saved for the anchors, headless or clicked."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from lofi.cli import main
from lofi.stages.calibrate import AnchorClicks

#: Floor marks of the lab scene's paper view, as `lofi simulate` writes them into calibration.yaml.
ANCHORS = 4


@pytest.fixture(scope="module")
def camera(tmp_path_factory) -> tuple[Path, list[str]]:
    """A simulated session's video (the camera) and its own anchors as --anchor options."""
    out = tmp_path_factory.mktemp("live") / "walk"
    assert main(["simulate", "--subject", "S1", "--seconds", "2", "--out", str(out), "--quiet"]) == 0
    anchors = yaml.safe_load((out / "calibration.yaml").read_text())["anchors"]
    return out / "video.mp4", [
        f"--anchor={','.join(str(v) for v in a['pixel'] + a['floor'])}" for a in anchors
    ]


def run(*args: str) -> tuple[int, str]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["calibrate", *args])
    return code, stdout.getvalue()


def test_headless_live_saves_the_frame_and_says_what_to_do(camera, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    video, _ = camera
    out = tmp_path / "calibration.yaml"
    code, printed = run("--live", str(video), "--out", str(out))
    assert code == 0 and not out.exists()
    frame = cv2.imread(str(tmp_path / "calibration.frame.png"))
    first = cv2.VideoCapture(str(video)).read()[1]
    assert frame.shape == first.shape and np.abs(frame.astype(int) - first).mean() < 1  # the camera's frame
    assert "--anchor U,V,X,Y" in printed


def test_live_with_anchors_calibrates_on_the_frame_it_took(camera, tmp_path):
    video, anchors = camera
    out = tmp_path / "calibration.yaml"
    code, printed = run("--live", str(video), *anchors, "--out", str(out))
    assert code == 0, printed
    written = yaml.safe_load(out.read_text())
    height, width = cv2.imread(str(tmp_path / "calibration.frame.png")).shape[:2]
    assert written["image_size"] == [width, height] and len(written["anchors"]) >= ANCHORS
    assert (tmp_path / "calibration.preview.png").stat().st_size > 10_000  # drawn on that frame
    assert "reprojection error mean" in printed


def test_clicks_add_and_remove_anchor_pixels():
    clicks = AnchorClicks(np.zeros((40, 60, 3), np.uint8))
    for u, v in ((5, 6), (50, 30), (7, 8)):
        clicks.on_mouse(cv2.EVENT_LBUTTONDOWN, u, v)
    clicks.on_mouse(cv2.EVENT_RBUTTONDOWN, 0, 0)  # right click: the last one is undone
    clicks.on_mouse(cv2.EVENT_MOUSEMOVE, 9, 9)
    assert clicks.pixels == [(5, 6), (50, 30)]
    assert clicks.drawn()[6, 5].tolist() == [0, 0, 255]  # a red dot where clicked


def test_a_camera_that_does_not_open_is_refused_in_one_line(tmp_path, capsys):
    assert main(["calibrate", "--live", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "c.yaml")]) == 2
    error = capsys.readouterr().err
    assert "none.mp4" in error and "Traceback" not in error
