"""Alignment (eq. 5): nearest frame, tolerance, reasons, overlap errors, agreement with truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lofi.csi.align import AlignError, align_labels, nearest_index
from lofi.csi.complete import CompletionOptions, complete_csi
from lofi.io.esp32.reader import read_csi_log
from lofi.sim.session import SessionSpec, simulate_csi_only
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import write_csi_log


def _positions(t, x=None, valid=None, reason=None):
    n = len(t)
    x = np.arange(n, dtype=float) if x is None else x
    valid = np.ones(n, bool) if valid is None else valid
    reason = np.where(valid, "", "no_person") if reason is None else reason
    return pd.DataFrame(
        {"frame": np.arange(n), "t_host": t, "x_m": x, "y_m": 2 * x, "valid": valid, "reason": reason}
    )


def test_nearest_not_next_frame():
    frames = np.array([0.0, 1.0, 2.0])
    assert nearest_index(frames, np.array([0.1, 0.6, 1.4, 1.9, 5.0, -3.0])).tolist() == [0, 1, 1, 2, 2, 0]


def test_labels_reasons_and_tolerance():
    positions = _positions(np.array([0.0, 0.1, 0.2, 0.6]), valid=np.array([True, False, True, True]))
    t_csi = np.array([0.01, 0.09, 0.21, 0.4, 0.62, 0.99])
    result = align_labels(t_csi, positions, tolerance_s=0.05)
    assert result.reason.tolist() == ["", "no_person", "", "no_frame_near", "", "no_frame_near"]
    assert result.frame.tolist() == [0, 1, 2, -1, 3, -1]
    np.testing.assert_allclose(result.x_m[[0, 2, 4]], [0, 2, 3])
    assert np.isnan(result.x_m[[1, 3, 5]]).all()
    np.testing.assert_allclose(result.label_dt[[0, 2, 4]], [0.01, 0.01, 0.02], atol=1e-12)


def test_missing_csi_keeps_label_but_is_not_valid():
    positions = _positions(np.array([0.0, 0.1]))
    result = align_labels(np.array([0.0, 0.1]), positions, 0.05, csi_missing=np.array([False, True]))
    assert result.reason.tolist() == ["", "csi_missing"]
    assert result.label_valid.tolist() == [True, False] and result.x_m[1] == 1.0


def test_no_overlap_and_no_host_time_are_clear_errors():
    positions = _positions(np.array([100.0, 101.0]))
    with pytest.raises(AlignError, match="do not overlap"):
        align_labels(np.array([0.0, 1.0]), positions, 0.05)
    with pytest.raises(AlignError, match="no host times"):
        align_labels(np.array([np.nan, np.nan]), positions, 0.05)


def test_labels_from_truth_agree_with_truth_at_the_csi_instant(tmp_path):
    """Aligned labels differ from the true position at the CSI instant by no more than the
    person's motion within label_dt (plus the host timestamps' few-ms jitter)."""
    scene = load_scene("lab")
    spec = SessionSpec("t", ("S2",), "paper", "walk", 60.0, seed=5)
    truth = write_csi_log(scene, spec, simulate_csi_only(scene, spec), tmp_path / "csi.csv")
    done = complete_csi(read_csi_log(tmp_path / "csi.csv"), CompletionOptions(rate_hz=100.0))
    # camera frames at ~30 Hz, labelled with the true position, stamped on the host clock
    rng = np.random.default_rng(0)
    t_true = truth["t_true_s"].to_numpy()
    host_offset = np.nanmedian(truth["t_host"].to_numpy() - t_true)
    t_shot = np.cumsum(rng.uniform(0.030, 0.040, 1700))
    t_shot = t_shot[t_shot < t_true[-1]]
    xy = [np.interp(t_shot, t_true, truth[c]) for c in ("x_m", "y_m")]
    t_frames = t_shot + host_offset
    positions = pd.DataFrame({"frame": np.arange(len(t_frames)), "t_host": t_frames, "x_m": xy[0],
                              "y_m": xy[1], "valid": True, "reason": ""})  # fmt: skip
    result = align_labels(done.table["t_host"].to_numpy(), positions, tolerance_s=1 / 30)
    logged = np.flatnonzero(~truth["lost"].to_numpy())
    inner = truth.iloc[logged[0] : logged[-1] + 1]
    ok = result.label_valid
    assert ok.mean() > 0.95
    error = np.hypot(result.x_m - inner["x_m"].to_numpy(), result.y_m - inner["y_m"].to_numpy())[ok]
    t_true = inner["t_true_s"].to_numpy()
    speed = np.hypot(np.diff(inner["x_m"]), np.diff(inner["y_m"])) / np.diff(t_true)
    host_jitter_s = 0.005  # serial-latency jitter left after the clock fit
    assert np.all(error <= speed.max() * (np.abs(result.label_dt[ok]) + host_jitter_s))


def test_no_overlap_message_survives_times_beyond_any_date():
    positions = _positions(np.array([1.7e15, 1.7e15 + 33.0]))  # microseconds given as seconds
    with pytest.raises(AlignError, match=r"frames \(t = 1\.7e\+15 to .* s\) do not overlap"):
        align_labels(np.array([1.7e9, 1.7e9 + 1.0]), positions, 0.05)
