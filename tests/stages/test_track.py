"""``lofi track``: positions of a replayed CSI stream, window by window as `lofi predict` gives them."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lofi.cli import main
from lofi.csi.complete import CompletionOptions
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.stages.predict import load_run, predict_windows, read_session_csi
from lofi.stages.track import Tracker, replay_lines, track
from lofi.train.run import train
from tests.stages.conftest import make_interim
from tests.train.conftest import config

RUNS = {"knn": ("model=knn", "data.normalize=none"), "gru": ("model=gru", "data.normalize=global")}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """runs/<model>/ trained on a tiny data set, and raw/walk: 30 s of an unseen subject (S4)."""
    root = tmp_path_factory.mktemp("track")
    interim = [make_interim(root, s, seconds=20.0, seed=k) for k, s in enumerate(("S1", "S2", "S3"))]
    build_dataset("tiny", [SessionInputs.from_folder(f) for f in interim], root / "tiny")
    for name, overrides in RUNS.items():
        train(config(root / "tiny", root / "runs" / name, *overrides))
    walk = root / "raw" / "walk"
    assert main(["simulate", "--subject", "S4", "--seconds", "30", "--out", str(walk), "--quiet"]) == 0
    return root


@pytest.mark.parametrize("model", list(RUNS))
def test_each_tracked_position_is_predicts_position_for_the_same_window(project, model):
    """The tracker completes only its tail, yet each window it scores holds the rows the whole log's
    completion holds there: the same input, the same position."""
    run = load_run(project / "runs" / model)
    walk = project / "raw" / "walk"
    tracker = Tracker(run, CompletionOptions(fill="linear", rate_hz=100.0))
    tracked = track(tracker, replay_lines(walk / "csi.csv", 100.0, speed=0))
    assert len(tracked) >= 20  # 30 s at one position per 1-s window, less the first and losses
    assert (tracked["latency_ms"] > 0).all()
    csi, _ = read_session_csi(walk, "linear")
    length = run.record.length
    centres = (csi.t_device[: -length + 1] + csi.t_device[length - 1 :]) / 2  # per window start
    starts = np.array([int(np.argmin(np.abs(centres - t))) for t in tracked["t_device"]])
    np.testing.assert_allclose(centres[starts], tracked["t_device"], atol=1e-6)  # found the same windows
    whole = predict_windows(run, csi, starts)
    np.testing.assert_allclose(tracked[["x_m", "y_m"]], whole["xy"], atol=1e-4)


def test_lofi_track_replays_a_session_and_reports_latency(project, tmp_path):
    out = tmp_path / "track.parquet"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["--root", str(tmp_path), "track", "--replay", str(project / "raw" / "walk"),
                     "--run", str(project / "runs" / "knn"), "--speed", "0", "--no-window",
                     "--out", str(out), "--plot", str(tmp_path / "track.png")])  # fmt: skip
    assert code == 0
    table = pd.read_parquet(out)
    printed = stdout.getvalue().splitlines()
    assert len([line for line in printed if line.startswith("t ")]) == len(table) >= 20
    assert "latency from the newest packet to its position: median" in printed[-1]
    assert (tmp_path / "track.png").stat().st_size > 5_000
    assert {"t_host", "t_device", "x_m", "y_m", "region6", "latency_ms"} <= set(table.columns)


def test_a_serial_port_that_does_not_exist_is_refused_in_one_line(project, capsys):
    code = main(
        ["track", "--serial", "/dev/no-such-port", "--run", str(project / "runs" / "knn"), "--no-window"]
    )
    assert code != 0
    error = capsys.readouterr().err
    assert "/dev/no-such-port" in error and "Traceback" not in error


@pytest.mark.slow
def test_lofi_track_reads_a_serial_port_as_the_replay(project, tmp_path):
    """A pty fed the walk's log at its recorded rate: the positions of the same windows as a replay."""
    from lofi.stages.track import run_track, serial_lines
    from tests.stages.test_record import Replayer

    walk = project / "raw" / "walk"
    ready = tmp_path / "ready"
    replay = Replayer(walk / "csi.csv", ready)
    replay.start()
    run = load_run(project / "runs" / "knn")
    try:
        lines = serial_lines(replay.port, 921600)
        assert next(lines) is None  # the port is open (nothing sent yet): now the replay may start
        ready.touch()
        tracker = Tracker(run, CompletionOptions(fill="linear", rate_hz=100.0))
        live = track(tracker, lines, seconds=12)
    finally:
        replay.close()
    assert len(live) >= 8 and (live["latency_ms"] < 1000).all()
    whole = run_track(project / "runs" / "knn", replay=walk, speed=0, rate_hz=100.0)
    merged = live.merge(whole, on="t_device", suffixes=("_live", "_replay"))
    assert len(merged) >= len(live) - 2  # the same windows, but for the first (a partial start)
    np.testing.assert_allclose(
        merged[["x_m_live", "y_m_live"]], merged[["x_m_replay", "y_m_replay"]], atol=1e-6
    )
