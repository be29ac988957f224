"""Packet timing and loss: rates, bursts, intervals, counter wrap, eq. (4) against truth."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.csi.loss import missing_per_gap
from lofi.sim import timing


def burst_lengths(lost: np.ndarray) -> np.ndarray:
    edges = np.diff(np.r_[0, lost.astype(int), 0])
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_gilbert_elliott_matches_loss_rate_and_burst_length():
    lost = timing.gilbert_elliott(400_000, 0.10, 2.0, np.random.default_rng(0))
    assert lost.mean() == pytest.approx(0.10, abs=0.005)
    assert burst_lengths(lost).mean() == pytest.approx(2.0, abs=0.05)
    other = timing.gilbert_elliott(400_000, 0.2, 3.0, np.random.default_rng(1))
    assert other.mean() == pytest.approx(0.2, abs=0.01) and burst_lengths(other).mean() == pytest.approx(
        3.0, abs=0.1
    )


def simulate(**kwargs):
    settings = dict(
        duration_s=120.0,
        ping_hz=100.0,
        loss_rate=0.1,
        mean_burst=2.0,
        outages_per_min=0.5,
        host_start_s=1.7e9,
        device_start_us=0,
        rng=np.random.default_rng(3),
    )
    settings.update(kwargs)
    return timing.simulate_pings(**settings)


def test_median_interval_is_10_ms_and_host_times_are_ms_and_monotonic():
    ping = simulate()
    device = ping.device_us[~ping.lost]
    assert np.median(np.diff(device)) == pytest.approx(10_000, abs=150)
    host = ping.host_s[~ping.lost]
    assert np.all(np.diff(host) >= 0)
    assert np.allclose(host * 1000, np.round(host * 1000), atol=1e-3)


def test_eq4_recovers_the_true_loss_exactly():
    ping = simulate()
    kept = np.flatnonzero(~ping.lost)
    found = missing_per_gap(ping.device_us[kept] / 1e6, 100.0)
    assert np.array_equal(found, np.diff(kept) - 1)


def test_session_starting_near_the_wrap_wraps_the_device_counter():
    ping = simulate(device_start_us=2**32 - 5_000_000, duration_s=20.0)
    logged = ping.device_us[~ping.lost] % timing.WRAP_US
    assert np.any(np.diff(logged) < 0)


def test_camera_frames_are_26_to_30_hz_with_drops():
    frames = timing.frame_times(300.0, 1.7e9, np.random.default_rng(4))
    assert 26.0 <= frames.fps <= 30.0
    gaps = np.diff(frames.t_capture)
    assert np.median(gaps) == pytest.approx(1 / frames.fps, rel=0.05)
    assert np.any(gaps > 1.7 / frames.fps)  # a dropped frame or a hiccup
