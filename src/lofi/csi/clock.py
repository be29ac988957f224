"""Clocks of a CSI log: device-counter jumps, and the host-from-device time map.

The ESP32 counter is precise but runs on its own crystal; the host timestamps share
the video's clock but carry serial-latency jitter (a few ms, one-sided). A robust
straight line ``t_host = intercept + slope * t_device`` fitted on every packet
absorbs the crystal drift (``slope - 1``) and averages the jitter away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class ClockFit:
    """``t_host = intercept_s + slope * (t_device - origin_s)``; residuals of the packets used, in ms."""

    origin_s: float
    intercept_s: float
    slope: float
    residual_rms_ms: float
    residual_mad_ms: float
    used: int
    outliers: int

    @property
    def drift_ppm(self) -> float:
        """Device crystal error relative to the host clock, parts per million."""
        return (self.slope - 1.0) * 1e6

    def host_time(self, t_device_s: np.ndarray) -> np.ndarray:
        """Host time (s) of device times (s)."""
        return self.intercept_s + self.slope * (np.asarray(t_device_s, dtype=np.float64) - self.origin_s)


def fit_host_clock(t_device_s: np.ndarray, t_host_s: np.ndarray, rounds: int = 5) -> ClockFit | None:
    """Robust line from device to host time: least squares, trimming > 3 sigma (MAD) each round.

    Returns None when fewer than two packets have both times.
    """
    t_device_s = np.asarray(t_device_s, dtype=np.float64)
    t_host_s = np.asarray(t_host_s, dtype=np.float64)
    ok = np.isfinite(t_device_s) & np.isfinite(t_host_s)
    if ok.sum() < 2:
        return None
    origin = float(t_device_s[ok][0])
    x, y = t_device_s - origin, t_host_s - float(t_host_s[ok][0])
    keep = ok.copy()
    for _ in range(rounds):
        slope, intercept = np.polyfit(x[keep], y[keep], 1) if np.ptp(x[keep]) > 0 else (1.0, 0.0)
        residual = y - (intercept + slope * x)
        centre = np.median(residual[keep])
        mad = float(np.median(np.abs(residual[keep] - centre)))
        new_keep = ok & (np.abs(residual - centre) <= max(3 * MAD_TO_SIGMA * mad, 1e-3))
        if new_keep.sum() < 2 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    residual = residual[keep]
    return ClockFit(
        origin_s=origin,
        intercept_s=float(intercept) + float(t_host_s[ok][0]),
        slope=float(slope),
        residual_rms_ms=float(np.sqrt(np.mean(residual**2)) * 1e3),
        residual_mad_ms=float(np.median(np.abs(residual - np.median(residual))) * 1e3),
        used=int(keep.sum()),
        outliers=int(ok.sum() - keep.sum()),
    )


def repair_clock_jumps(
    t_device_s: np.ndarray, t_host_s: np.ndarray, jump_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Re-base the device clock after jumps (a reset or a glitch of the counter).

    Where host times exist, a jump is a step whose device interval differs from its
    host interval by more than ``jump_s``; the device step is replaced by the host
    step. Without host times, only a backward step larger than ``jump_s`` is
    recognisable; it is replaced by the median step.

    Returns:
        the repaired device times (s) and the row indices (after which) a jump was found.
    """
    t_device_s = np.asarray(t_device_s, dtype=np.float64)
    if len(t_device_s) < 2:
        return t_device_s.copy(), np.zeros(0, dtype=np.int64)
    d_dev = np.diff(t_device_s)
    d_host = np.diff(np.asarray(t_host_s, dtype=np.float64))
    has_host = np.isfinite(d_host)
    jump = np.where(has_host, np.abs(d_dev - d_host) > jump_s, d_dev < -jump_s)
    if not jump.any():
        return t_device_s.copy(), np.zeros(0, dtype=np.int64)
    typical = float(np.median(d_dev[~jump])) if (~jump).any() else 0.0
    fixed = np.where(has_host, d_host, typical)
    d_dev = np.where(jump, fixed, d_dev)
    repaired = np.concatenate([[t_device_s[0]], t_device_s[0] + np.cumsum(d_dev)])
    return repaired, np.flatnonzero(jump)
