"""CSI completion: ping filter, duplicates, clock repair, eq. (4) insertion, filling, outages."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.csi.complete import CompletionOptions, CsiCompletionError, complete_csi
from lofi.csi.fill import FillMethodUnavailableError
from lofi.io.esp32.reader import read_csi_bytes
from lofi.sim.session import SessionSpec, simulate_csi_only
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import write_csi_log

from .logs import HOST_START, ramp_values, write_log

RATE = CompletionOptions(rate_hz=100.0)


def _grid(n: int, drop: list[int] | None = None) -> np.ndarray:
    """Device times (s) of pings every 10 ms from t = 1 s, with the given pings removed."""
    t = 1.0 + 0.01 * np.arange(n)
    return np.delete(t, drop or [])


@pytest.mark.parametrize(("subject", "seed"), [("S1", 3), ("S4", 11)])
def test_loss_count_equals_simulator_truth(tmp_path, subject, seed):
    scene = load_scene("lab")
    spec = SessionSpec("t", (subject,), "paper", "walk", 60.0, seed=seed)
    truth = write_csi_log(scene, spec, simulate_csi_only(scene, spec), tmp_path / "csi.csv")
    from lofi.io.esp32.reader import read_csi_log

    completed = complete_csi(read_csi_log(tmp_path / "csi.csv"), RATE)
    logged = np.flatnonzero(~truth["lost"].to_numpy())
    inner = truth.iloc[logged[0] : logged[-1] + 1]
    assert completed.report.lost == int(inner["lost"].sum()) > 0
    assert len(completed.table) == len(inner)
    np.testing.assert_array_equal(completed.table["lost"].to_numpy(), inner["lost"].to_numpy())
    received = ~completed.table["lost"].to_numpy()
    np.testing.assert_allclose(
        completed.table["t_device"].to_numpy()[received] * 1e6, inner["device_us"].to_numpy()[received]
    )


def test_lost_rows_are_inserted_evenly_and_filled_linearly(tmp_path):
    t = _grid(10, drop=[3, 4, 5])  # a gap of 40 ms: 3 pings missing
    data = ramp_values(10, start=10, slope=2)[np.setdiff1d(np.arange(10), [3, 4, 5])]
    done = complete_csi(write_log(tmp_path / "c.csv", t, data=data), RATE)
    table = done.table
    assert done.report.lost == 3 and done.report.filled == 3
    np.testing.assert_allclose(np.diff(table["t_device"]), 0.01, atol=1e-6)
    assert table["lost"].tolist() == [False] * 3 + [True] * 3 + [False] * 4
    np.testing.assert_allclose(done.amplitude[:, 0], 10 + 2 * np.arange(10), atol=1e-4)
    assert table["seq"].isna().sum() == 3
    assert np.isfinite(table["t_host"]).all()


def test_beacons_and_other_transmitters_are_dropped_and_counted(tmp_path):
    n = 50
    sig_mode = np.ones(n, dtype=int)
    sig_mode[[7, 21]] = 0  # beacons: non-HT
    mac = np.array(["1a:2b:3c:4d:5e:6f"] * n, dtype=object)
    mac[30] = "aa:aa:aa:aa:aa:aa"
    t = _grid(n)
    t[[7, 21, 30]] += 0.004  # extra frames between pings
    done = complete_csi(write_log(tmp_path / "c.csv", t, sig_mode=sig_mode, mac=mac), RATE)
    assert done.report.dropped["other_sig_mode"] == 2
    assert done.report.dropped["other_mac"] == 1
    assert done.report.lost == 3  # the pings at those slots were not logged


def test_exact_duplicates_are_dropped_and_counted(tmp_path):
    write_log(tmp_path / "c.csv", _grid(20))
    lines = (tmp_path / "c.csv").read_bytes().splitlines(keepends=True)
    raw = b"".join(lines[:6] + lines[5:7] + lines[6:])  # rows 5 and 6 repeated
    done = complete_csi(read_csi_bytes(raw, source="dup.csv"), RATE)
    assert done.report.dropped["duplicate_row"] == 2
    assert len(done.table) == 20 and done.report.lost == 0


def test_a_device_counter_reset_is_repaired_with_host_time(tmp_path):
    t_host = HOST_START + _grid(200)
    t_device = _grid(200)
    t_device[100:] = 0.5 + 0.01 * np.arange(100)  # the counter restarts; host time runs on
    done = complete_csi(write_log(tmp_path / "c.csv", t_device, t_host_s=t_host), RATE)
    assert done.report.clock_jumps == 1
    assert done.report.lost == 0 and len(done.table) == 200
    np.testing.assert_allclose(np.diff(done.table["t_device"]), 0.01, atol=1e-6)


def test_out_of_order_rows_are_sorted_and_reported(tmp_path):
    t = _grid(30)
    t[[10, 11]] = t[[11, 10]]
    done = complete_csi(write_log(tmp_path / "c.csv", t), RATE)
    assert done.report.reordered == 1
    assert np.all(np.diff(done.table["t_device"]) > 0) and done.report.lost == 0


def test_long_gaps_stay_unfilled_and_very_long_gaps_start_a_segment(tmp_path):
    t = np.concatenate([_grid(50), 1.49 + 1.0 + 0.01 * np.arange(50), 3.98 + 100 + 0.01 * np.arange(50)])
    options = CompletionOptions(rate_hz=100.0, max_gap_s=0.5, max_insert_s=60.0)
    done = complete_csi(write_log(tmp_path / "c.csv", t), options)
    report = done.report
    assert report.outages == 1 and report.outage_rows == 99
    assert report.segments == 2 and report.lost == 99
    outage = done.table["outage"].to_numpy()
    assert np.isnan(done.amplitude[outage]).all() and not done.table["filled"].to_numpy()[outage].any()
    assert done.table["segment"].iloc[-1] == 1


def test_fill_none_leaves_lost_rows_nan(tmp_path):
    done = complete_csi(
        write_log(tmp_path / "c.csv", _grid(10, drop=[4])), CompletionOptions(fill="none", rate_hz=100.0)
    )
    assert done.report.filled == 0
    assert np.isnan(done.amplitude[4]).all() and np.isnan(done.table["rssi"].iloc[4])


def test_csibert_fill_without_checkpoint_is_a_clear_error(tmp_path):
    log = write_log(tmp_path / "c.csv", _grid(10, drop=[4]))
    with pytest.raises(FillMethodUnavailableError, match="checkpoint"):
        complete_csi(log, CompletionOptions(fill="csibert", rate_hz=100.0))


def test_a_log_without_ping_rows_is_a_clear_error():
    empty = read_csi_bytes(b"", source="empty.csv")
    with pytest.raises(CsiCompletionError, match="no CSI ping rows"):
        complete_csi(empty, RATE)


def test_host_clock_fit_recovers_drift_and_ignores_serial_latency(tmp_path):
    rng = np.random.default_rng(0)
    t_device = _grid(30_000)  # 5 min
    latency = rng.exponential(0.002, len(t_device))  # one-sided serial delay
    t_host = HOST_START + t_device * (1 - 20e-6) + 0.005 + latency
    done = complete_csi(write_log(tmp_path / "c.csv", t_device, t_host_s=np.round(t_host, 3)), RATE)
    fit = done.report.host_fit
    assert fit["drift_ppm"] == pytest.approx(-20, abs=3)
    assert fit["residual_rms_ms"] < 2.0
