"""True positions at CSI rows from per-ping truth: exact at received rows, interpolated at lost ones."""

from __future__ import annotations

import numpy as np

from lofi.data.truth import WRAP_US, truth_at_rows
from lofi.io.esp32.reader import unwrap_us_counter


def _pings(
    n: int = 400, start_us: int = WRAP_US - 1_500_000, seed: int = 0, host_s: float = 1.7e9
) -> dict[str, np.ndarray]:
    """Pings every ~10 ms whose device counter wraps after 1.5 s; ~10 % lost in bursts."""
    rng = np.random.default_rng(seed)
    device_us = start_us + np.arange(n) * 10_000 + rng.integers(-300, 300, n)
    lost = np.zeros(n, bool)
    lost[[5, 6, 7, 50, 51, 200, 201, 202, 203, 300]] = True
    return {
        "local_timestamp": device_us % WRAP_US,
        "lost": lost,
        "t_host": host_s + (device_us - start_us) / 1e6 + 0.004,
        "x_m": 0.5 + 0.001 * np.arange(n),
        "y_m": 2.0 - 0.002 * np.arange(n),
    }


def _csi_rows(pings: dict[str, np.ndarray]):
    """What `lofi csi` makes of the log: received rows at their counter, lost rows evenly in each gap."""
    logged = ~pings["lost"]
    t_rx = unwrap_us_counter(pings["local_timestamp"][logged]) / 1e6
    rows = np.flatnonzero(logged)
    t_device = np.interp(np.arange(len(logged)), rows, t_rx)  # evenly spaced inside each gap
    t_host_raw = np.where(logged, pings["t_host"], np.nan)
    return t_device, pings["lost"], np.zeros(len(logged), int), t_host_raw


def test_received_rows_get_their_pings_position_exactly_and_lost_rows_an_interpolation():
    pings = _pings()
    x, y = truth_at_rows(*_csi_rows(pings), pings)
    received = ~pings["lost"]
    assert np.array_equal(x[received], pings["x_m"][received])
    assert np.array_equal(y[received], pings["y_m"][received])
    np.testing.assert_allclose(x[~received], pings["x_m"][~received], atol=1e-4)  # 0.3 ms jitter at 0.1 m/s


def test_rows_rebased_by_a_clock_repair_take_the_offset_of_the_nearest_matched_row():
    pings = _pings()
    t_device, lost, segment, t_host_raw = _csi_rows(pings)
    t_device = t_device + np.where(np.arange(len(t_device)) >= 100, 3.0, 0.0)  # re-based by 3 s from row 100
    x, _ = truth_at_rows(t_device, lost, segment, t_host_raw, pings)
    received = ~lost
    assert np.array_equal(x[received], pings["x_m"][received])


def test_pings_of_another_recording_or_no_pings_give_nan():
    rows = _csi_rows(_pings())
    other = _pings(start_us=123_456_789, host_s=1.6e9)
    assert np.isnan(truth_at_rows(*rows, other)[0]).all()
    empty = {k: v[:0] for k, v in other.items()}
    assert np.isnan(truth_at_rows(*rows, empty)[1]).all()


def test_a_counter_value_seen_twice_is_told_apart_by_host_time():
    """Pings a whole wrap apart share local_timestamp: the one logged at the row's host time wins."""
    first = np.arange(100) * 10_000
    device_us = np.concatenate([first, [WRAP_US // 2 + 1000], WRAP_US + first])
    n = len(device_us)
    lost = np.zeros(n, bool)
    lost[100] = True
    pings = {
        "local_timestamp": device_us % WRAP_US,
        "lost": lost,
        "t_host": 1.7e9 + device_us / 1e6,
        "x_m": np.where(device_us >= WRAP_US, 1.0, 0.0),
        "y_m": np.zeros(n),
    }
    second = slice(101, n)  # the log holds only the second pass
    t_device = unwrap_us_counter(pings["local_timestamp"][second]) / 1e6
    x, _ = truth_at_rows(t_device, np.zeros(100, bool), np.zeros(100, int), pings["t_host"][second], pings)
    assert (x == 1.0).all()
