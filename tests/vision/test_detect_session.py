"""Detection over a session's video: schema, counts, bad videos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lofi.io.schema import DETECTIONS_COLUMNS, POSITIONS_COLUMNS
from lofi.io.video import VideoError
from lofi.sim.session import SessionSpec
from lofi.stages.detect import detect_session
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import simulate_session
from lofi.vision.detectors import make_detector
from lofi.vision.detectors.opencv import BackgroundSubtractionDetector, HaarDetector, HogDetector

SCENE = load_scene("lab")


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vision") / "walk"
    simulate_session(SCENE, SessionSpec("walk", ("S4",), "paper", "walk", duration_s=4.0, seed=2), out, False)
    return out


def test_detections_follow_the_schema_and_find_the_person(session):
    run = detect_session(session, BackgroundSubtractionDetector(warmup=10), progress=False)
    table = run.table
    assert list(table.columns) == [c.name for c in DETECTIONS_COLUMNS]
    assert len(table) == len(pd.read_csv(session / "frames.csv"))
    found = np.isfinite(table["x0"])
    assert found[:10].sum() == 0 and found[10:].mean() > 0.4  # a 4 s video: MOG2 is still learning
    truth = pd.read_parquet(session / "truth" / "frames.parquet")
    centre_u = (table["x0"] + table["x1"]) / 2
    true_u = (truth["box_x0"] + truth["box_x1"]) / 2
    assert np.nanmedian(np.abs(centre_u - true_u)) < 10


def test_stride_and_opencv_detectors(session):
    for detector in (HogDetector(), HaarDetector()):
        run = detect_session(session, detector, stride=10, progress=False)
        assert list(run.table["frame"]) == list(range(0, len(pd.read_csv(session / "frames.csv")), 10))
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("sift")


def detect_bgsub(session: Path, out: str | Path, *extra: str) -> int:
    """``lofi detect`` with the background-subtraction detector; returns the exit status."""
    from lofi.cli import main

    return main(["detect", str(session), "--detector", "bgsub", "--quiet", "--out", str(out), *extra])


def test_positions_schema(session, tmp_path):
    from lofi.cli import main

    shutil.copytree(session, tmp_path / "s")
    assert detect_bgsub(tmp_path / "s", tmp_path / "d.parquet") == 0
    assert (
        main(
            [
                "localize",
                str(tmp_path / "s"),
                "--detections",
                str(tmp_path / "d.parquet"),
                "--out",
                str(tmp_path / "p.parquet"),
            ]
        )
        == 0
    )
    positions = pd.read_parquet(tmp_path / "p.parquet")
    assert list(positions.columns) == [c.name for c in POSITIONS_COLUMNS]
    assert set(positions["reason"]) <= {"", "no_person", "outside_region", "jump", "corrupt_frame"}
    upright = ["--foot-point", "upright", "--foot-offset-m", "0.2", "--out", str(tmp_path / "u.parquet")]
    assert main(["localize", str(tmp_path / "s"), "--detections", str(tmp_path / "d.parquet"), *upright]) == 0
    moved = pd.read_parquet(tmp_path / "u.parquet")
    assert list(moved.columns) == list(positions.columns)
    found = positions["reason"] != "no_person"
    assert not np.allclose(moved.loc[found, "x_m"], positions.loc[found, "x_m"])
    assert np.isfinite(pd.read_parquet(tmp_path / "d.parquet")["foot_y"]).any()  # refined by default


def test_a_correction_fitted_on_other_bottoms_is_refused(session, tmp_path, capsys):
    from lofi.cli import main
    from lofi.io.foot_correction import FootCorrection, write_foot_correction

    shutil.copytree(session, tmp_path / "s")
    out = str(tmp_path / "d.parquet")
    assert detect_bgsub(tmp_path / "s", out) == 0
    write_foot_correction(
        tmp_path / "f.json", FootCorrection(0.2, "upright", "bgsub", [], refined_bottom=False)
    )
    args = ["--detections", out, "--foot-point", "upright", "--foot-offset-from", str(tmp_path / "f.json")]
    assert main(["localize", str(tmp_path / "s"), *args, "--out", str(tmp_path / "p.parquet")]) == 2
    assert "fitted on detector box bottoms, but refined ones" in capsys.readouterr().err
    plain = str(tmp_path / "plain.parquet")
    assert detect_bgsub(tmp_path / "s", plain, "--no-refine-feet") == 0
    assert pd.read_parquet(plain)["foot_y"].isna().all()
    args[1] = plain
    assert main(["localize", str(tmp_path / "s"), *args, "--out", str(tmp_path / "p.parquet")]) == 0


def test_frame_count_mismatch_names_both_counts(session, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(session, broken)
    frames = pd.read_csv(broken / "frames.csv")
    frames.iloc[:-3].to_csv(broken / "frames.csv", index=False)
    with pytest.raises(VideoError, match=rf"has {len(frames)} frames but frames.csv lists {len(frames) - 3}"):
        detect_session(broken, HogDetector(), progress=False)


def test_unreadable_video_is_a_clear_error(session, tmp_path):
    broken = tmp_path / "garbage"
    shutil.copytree(session, broken)
    (broken / "video.mp4").write_bytes(b"this is not a video" * 100)
    with pytest.raises(VideoError, match=r"video\.mp4"):
        detect_session(broken, HogDetector(), progress=False)
