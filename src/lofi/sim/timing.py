"""Clocks, packet timing, bursty loss and camera frame times.

The session clock t (s from the session start) is the truth. The host PC's clock
is ``host_start + t``; the ESP32's 32-bit microsecond counter runs at
(1 + drift) times real time from a start value. Pings leave every 1/f2 seconds of
device time; the CSI is captured when the reply arrives (round-trip 1-4 ms) and
the PC stamps the serial line at millisecond resolution after a bursty latency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WRAP_US = 1 << 32


@dataclass(frozen=True)
class PingTiming:
    t_rx: np.ndarray  # s, session clock, capture time of every sent ping
    lost: np.ndarray  # bool, lost (never logged)
    device_us: np.ndarray  # int64, unwrapped device counter at capture
    host_s: np.ndarray  # s since 1970, host stamp (ms resolution), NaN if lost
    drift_ppm: float


def ping_times(duration_s: float, ping_hz: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Capture times (s) of all pings sent during ``duration_s`` and the crystal drift (ppm)."""
    drift_ppm = float(rng.uniform(-20, 20))
    n = int(duration_s * ping_hz)
    # Send jitter (+-0.5 ms) and round trip (1-4 ms) keep every gap within +-4.5 ms of
    # the period, so eq. (4) sees a loss only where a packet really is missing.
    send = np.arange(n) / ping_hz / (1 + drift_ppm * 1e-6) + np.clip(
        rng.normal(0, 0.0002, n), -0.0005, 0.0005
    )
    rtt = rng.uniform(0.001, 0.004, n)
    return np.sort(send + rtt), drift_ppm


def gilbert_elliott(n: int, loss_rate: float, mean_burst: float, rng: np.random.Generator) -> np.ndarray:
    """Bursty loss mask: a two-state chain, lost while in the bad state.

    P(bad -> good) = 1 / mean_burst; P(good -> bad) chosen so the stationary loss
    probability equals ``loss_rate``.
    """
    if loss_rate <= 0:
        return np.zeros(n, dtype=bool)
    alpha = 1.0 / mean_burst
    beta = loss_rate * alpha / (1 - loss_rate)
    lost = np.zeros(n, dtype=bool)
    pos, bad = 0, rng.random() < loss_rate
    while pos < n:
        run = int(rng.geometric(alpha if bad else beta))
        lost[pos : pos + run] = bad
        pos += run
        bad = not bad
    return lost


def outage_mask(t: np.ndarray, per_min: float, rng: np.random.Generator) -> np.ndarray:
    """Rare receiver outages of 0.2-2 s (Poisson, ``per_min`` per minute)."""
    mask = np.zeros(len(t), dtype=bool)
    if per_min <= 0 or len(t) == 0:
        return mask
    count = rng.poisson(per_min * (t[-1] - t[0]) / 60.0)
    for start in rng.uniform(t[0], t[-1], count):
        mask |= (t >= start) & (t < start + rng.uniform(0.2, 2.0))
    return mask


def serial_host_times(t_rx: np.ndarray, host_start_s: float, rng: np.random.Generator) -> np.ndarray:
    """Host stamps (s since 1970, floored to ms) of serial lines read in FIFO order."""
    latency = 0.001 + rng.exponential(0.0015, len(t_rx))
    stall = rng.random(len(t_rx)) < 0.01
    latency[stall] += rng.uniform(0.005, 0.016, stall.sum())
    read = np.maximum.accumulate(t_rx + latency)
    return np.floor((host_start_s + read) * 1000.0) / 1000.0


def simulate_pings(
    duration_s: float,
    ping_hz: float,
    loss_rate: float,
    mean_burst: float,
    outages_per_min: float,
    host_start_s: float,
    device_start_us: int,
    rng: np.random.Generator,
) -> PingTiming:
    """Timing and loss of every ping of a session."""
    t_rx, drift_ppm = ping_times(duration_s, ping_hz, rng)
    lost = gilbert_elliott(len(t_rx), loss_rate, mean_burst, rng) | outage_mask(t_rx, outages_per_min, rng)
    device_us = device_start_us + np.round(t_rx * (1 + drift_ppm * 1e-6) * 1e6).astype(np.int64)
    host = np.full(len(t_rx), np.nan)
    host[~lost] = serial_host_times(t_rx[~lost], host_start_s, rng)
    return PingTiming(t_rx, lost, device_us, host, drift_ppm)


@dataclass(frozen=True)
class FrameTiming:
    t_capture: np.ndarray  # s, session clock
    host_s: np.ndarray  # s since 1970, host stamp of each kept frame
    fps: float  # effective frame rate of this session


def frame_times(duration_s: float, host_start_s: float, rng: np.random.Generator) -> FrameTiming:
    """Webcam frames at a jittered 26-30 Hz with hiccups and ~0.5 % drops."""
    fps = float(rng.uniform(26.0, 30.0))
    n = int(duration_s * fps * 1.05) + 2
    gaps = 1 / fps + rng.normal(0, 0.0025, n)
    gaps[rng.random(n) < 0.01] += 0.03
    t = np.cumsum(np.maximum(gaps, 0.004)) - gaps[0]
    t = t[t < duration_s]
    t = t[rng.random(len(t)) >= 0.005]
    grab = 0.004 + rng.normal(0, 0.001, len(t))
    return FrameTiming(t, host_start_s + t + grab, fps)
