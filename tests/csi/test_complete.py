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


def test_a_device_counter_reset_is_a_reboot_that_starts_a_segment(tmp_path):
    t_host = HOST_START + _grid(200)
    t_host[100:] += 3.0  # the ESP32 took 3 s to boot and reconnect
    t_device = _grid(200)
    t_device[100:] = 0.5 + 0.01 * np.arange(100)  # the counter restarts; host time runs on
    done = complete_csi(write_log(tmp_path / "c.csv", t_device, t_host_s=t_host), RATE)
    assert done.report.reboots == 1 and done.report.clock_jumps == 0 and done.report.segments == 2
    assert done.report.lost == 0 and len(done.table) == 200  # nothing inserted across the reboot
    assert done.table["segment"].tolist() == [0] * 100 + [1] * 100
    np.testing.assert_allclose(np.diff(done.table["t_device"])[[98, 99, 100]], [0.01, 3.01, 0.01], atol=1e-6)
    np.testing.assert_allclose(done.table["t_host"], t_host, atol=1e-3)


def test_a_reboot_after_35_minutes_is_not_taken_for_a_counter_wrap(tmp_path):
    t_device = 3000.0 + 0.01 * np.arange(200)  # counter above 2**31 us
    t_device[100:] = 2.0 + 0.01 * np.arange(100)  # reboot: the unwrapper sees a step of > 2**31 back
    t_host = HOST_START + _grid(200)
    t_host[100:] += 4.0
    done = complete_csi(write_log(tmp_path / "c.csv", t_device, t_host_s=t_host), RATE)
    assert (done.report.reboots, done.report.clock_jumps, done.report.segments) == (1, 0, 2)
    assert done.report.lost == 0


def test_a_forward_counter_glitch_is_repaired_within_the_segment(tmp_path):
    t_device = _grid(200)
    t_device[100:] += 500.0  # the counter leaps ahead and runs on from there
    done = complete_csi(write_log(tmp_path / "c.csv", t_device, t_host_s=HOST_START + _grid(200)), RATE)
    assert (done.report.clock_jumps, done.report.reboots, done.report.segments) == (1, 0, 1)
    np.testing.assert_allclose(np.diff(done.table["t_device"]), 0.01, atol=1e-6)


@pytest.mark.parametrize("bad_host", [0.0, HOST_START + 1.5 + 365 * 86400], ids=["1970", "a_year_off"])
def test_one_absurd_host_time_is_counted_and_splits_nothing(tmp_path, bad_host):
    t_host = HOST_START + _grid(300)
    t_host[150] = bad_host
    done = complete_csi(write_log(tmp_path / "c.csv", _grid(300), t_host_s=t_host), RATE)
    report = done.report
    assert report.bad_host_times == 1 and report.clock_jumps == report.reboots == 0
    assert report.segments == 1 and report.lost == 0 and len(done.table) == 300
    assert report.host_fit["outliers"] == 0 and report.host_fit["residual_rms_ms"] < 1
    np.testing.assert_allclose(done.table["t_host"], HOST_START + _grid(300), atol=1e-3)


def test_one_glitched_device_time_is_repaired_not_taken_for_a_reboot(tmp_path):
    t_device = _grid(300)
    t_device[150] += 1000.0  # one bad counter value
    done = complete_csi(write_log(tmp_path / "c.csv", t_device, t_host_s=HOST_START + _grid(300)), RATE)
    report = done.report
    assert (report.clock_jumps, report.reboots, report.bad_host_times, report.segments) == (2, 0, 0, 1)
    np.testing.assert_allclose(np.diff(done.table["t_device"]), 0.01, atol=1e-6)


def test_a_rate_that_would_insert_far_more_rows_than_received_is_refused(tmp_path):
    log = write_log(tmp_path / "c.csv", _grid(100))
    with pytest.raises(CsiCompletionError, match=r"f2 = 5000 Hz .*more than 10 per received.*100 Hz"):
        complete_csi(log, CompletionOptions(rate_hz=5000.0))
    # bursts of 3 pings every 33 periods: the median interval still says 100 Hz, 10 lost per received
    bursts = (np.arange(40)[:, None] * 0.33 + np.array([0.0, 0.01, 0.02])).ravel()
    assert complete_csi(write_log(tmp_path / "b.csv", 1.0 + bursts), RATE).report.lost == 39 * 30  # kept


@pytest.mark.parametrize(
    "options",
    [{"rate_hz": 0.0}, {"rate_hz": float("nan")}, {"rate_hz": 1e9}, {"clock_jump_s": 0.0},
     {"max_insert_s": -1.0}, {"max_gap_s": -0.1}],
)  # fmt: skip
def test_options_out_of_range_are_refused(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        CompletionOptions(**options)


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
