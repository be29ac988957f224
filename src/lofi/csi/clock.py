"""Clocks of a CSI log: device-counter jumps, and the host-from-device time map.

The ESP32 counter is precise but runs on its own crystal; the host timestamps share
the video's clock but carry serial-latency jitter (a few ms, one-sided). A robust
straight line ``t_host = intercept + slope * t_device`` fitted on every packet
absorbs the crystal drift (``slope - 1``) and averages the jitter away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAD_TO_SIGMA = 1.4826
#: Largest crystal drift (ppm) accepted between the device counter and the host clock. An ESP32
#: crystal is specified to +-10 ppm (tens of ppm with temperature and ageing); beyond +-1000 ppm the
#: counter is not a microsecond clock (another unit, rescaled, faulty) or the host times are not its.
MAX_DRIFT_PPM = 1000.0
#: Least total disagreement (s) of the two clocks over a log before its drift is judged: far above
#: the serial-latency jitter (a few ms), so the noisy slope of a short log is not taken for a fault.
MIN_DRIFT_DISAGREEMENT_S = 0.05
#: Largest standard error (ppm) of a drift that is fitted. A noisier slope (a log of a few rows or
#: seconds, where serial jitter swamps the drift) is fixed at 1 and only the offset is fitted.
MAX_DRIFT_SE_PPM = 50.0
#: Largest share of rows that may repeat an earlier device time. Distinct packets do not share a
#: microsecond; a few repeats are lines logged twice, more is a counter that does not advance.
MAX_REPEATED_TIME_SHARE = 0.1
#: Smallest ``local_timestamp`` (us) a 32-bit counter can print: the ESP-IDF examples print the
#: unsigned counter with ``%d``, so from 2**31 us (35.8 min) of uptime on it reads -2**31 .. -1.
INT32_MIN_US = -(1 << 31)
#: Rows in the running median that judges each timestamp: up to 7 bad ones in a row are told
#: apart from a step of the clock, and a segment needs 8 rows to be recognised as one.
OUTLIER_WINDOW = 15


class ClockError(ValueError):
    """The device counter contradicts itself or the host clock: its times cannot place the rows."""


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
    drift_fitted: bool = True

    @property
    def drift_ppm(self) -> float:
        """Device crystal error relative to the host clock, parts per million."""
        return (self.slope - 1.0) * 1e6

    def host_time(self, t_device_s: np.ndarray) -> np.ndarray:
        """Host time (s) of device times (s)."""
        return self.intercept_s + self.slope * (np.asarray(t_device_s, dtype=np.float64) - self.origin_s)


def fit_host_clock(t_device_s: np.ndarray, t_host_s: np.ndarray, rounds: int = 5) -> ClockFit | None:
    """Robust line from device to host time: least squares, trimming > 3 sigma (MAD) each round.

    Where the fitted slope's standard error exceeds :data:`MAX_DRIFT_SE_PPM` and the drift adds up to
    no more than jitter (:data:`MIN_DRIFT_DISAGREEMENT_S`), the slope is fixed at 1 and only the
    offset is fitted (``drift_fitted`` False): such a slope is noise, not drift. A gross mismatch (a counter
    at twice real time) keeps its fitted slope, for :func:`check_drift` to refuse.

    Returns None when fewer than two packets have both times.
    """
    t_device_s = np.asarray(t_device_s, dtype=np.float64)
    t_host_s = np.asarray(t_host_s, dtype=np.float64)
    ok = np.isfinite(t_device_s) & np.isfinite(t_host_s)
    if ok.sum() < 2:
        return None
    origin = float(t_device_s[ok][0])
    x, y = t_device_s - origin, t_host_s - float(t_host_s[ok][0])
    slope, intercept, keep = _robust_line(x, y, ok, rounds, fixed_slope=False)
    span = float(np.ptp(x[ok]))
    precise = _slope_se_ppm(x[keep], (y - intercept - slope * x)[keep]) <= MAX_DRIFT_SE_PPM
    drift_fitted = precise or abs(slope - 1.0) * span > MIN_DRIFT_DISAGREEMENT_S
    if not drift_fitted:
        slope, intercept, keep = _robust_line(x, y, ok, rounds, fixed_slope=True)
    residual = (y - (intercept + slope * x))[keep]
    return ClockFit(
        origin_s=origin,
        intercept_s=float(intercept) + float(t_host_s[ok][0]),
        slope=float(slope),
        residual_rms_ms=float(np.sqrt(np.mean(residual**2)) * 1e3),
        residual_mad_ms=float(np.median(np.abs(residual - np.median(residual))) * 1e3),
        used=int(keep.sum()),
        outliers=int(ok.sum() - keep.sum()),
        drift_fitted=drift_fitted,
    )


def _slope_se_ppm(x: np.ndarray, residual: np.ndarray) -> float:
    """Standard error (ppm) of a least-squares slope over ``x`` with these residuals."""
    spread = float(np.std(x)) * np.sqrt(len(x))
    if len(x) < 3 or spread <= 0:
        return float("inf")
    return float(np.std(residual, ddof=2) / spread * 1e6)


def _robust_line(
    x: np.ndarray, y: np.ndarray, ok: np.ndarray, rounds: int, fixed_slope: bool
) -> tuple[float, float, np.ndarray]:
    """``(slope, intercept, rows kept)`` of ``y ~ x`` over ``ok``, trimming > 3 sigma (MAD) each
    round; with ``fixed_slope`` the slope is 1 and the intercept the median offset."""
    keep = ok.copy()
    for _ in range(rounds):
        if fixed_slope or np.ptp(x[keep]) <= 0:
            slope, intercept = 1.0, float(np.median(y[keep] - x[keep]))
        else:
            slope, intercept = np.polyfit(x[keep], y[keep], 1)
        residual = y - (intercept + slope * x)
        centre = np.median(residual[keep])
        mad = float(np.median(np.abs(residual[keep] - centre)))
        new_keep = ok & (np.abs(residual - centre) <= max(3 * MAD_TO_SIGMA * mad, 1e-3))
        if new_keep.sum() < 2 or np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return float(slope), float(intercept), keep


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


@dataclass(frozen=True)
class ClockRepair:
    """Both clocks of a log after :func:`repair_clocks`, in file order.

    Attributes:
        t_device_s: device times (s), re-based after each jump and reboot so they run on.
        t_host_s: host times (s); outliers (:attr:`bad_host`) set to NaN.
        jumps: steps (index i: between rows i and i+1) where the counter glitched and was
            re-based from the host clock; the rows stay in one segment.
        reboots: steps where the counter restarted (went back while host time went on);
            row i+1 starts a new segment.
        bad_host: rows whose host time disagrees with both its neighbours and the device
            clock by more than the jump threshold (e.g. a 1970 or a year-off timestamp).
    """

    t_device_s: np.ndarray
    t_host_s: np.ndarray
    jumps: np.ndarray
    reboots: np.ndarray
    bad_host: np.ndarray

    @property
    def segment(self) -> np.ndarray:
        """Per row, the number of reboots before it (0 until the first reboot), int32."""
        starts = np.zeros(len(self.t_device_s), dtype=np.int32)
        starts[self.reboots + 1] = 1
        return np.cumsum(starts, dtype=np.int32)


def repair_clocks(
    t_device_s: np.ndarray,
    t_host_s: np.ndarray,
    jump_s: float,
    counter: np.ndarray | None = None,
) -> ClockRepair:
    """Find bad host times, device-counter jumps and reboots; re-base the device clock.

    Only a log whose device and host intervals disagree somewhere by more than ``jump_s``
    (s) is examined (a clean log comes back unchanged). Then a row whose host-minus-device
    offset stands out from the running median of its neighbours' offsets is an outlier of
    whichever clock stands out from its own neighbours: a bad host time is set to NaN (it
    takes no part in the jump search or the host-clock fit); a bad device time is left to
    the jump repair. Each remaining jump (see :func:`repair_clock_jumps`) is a reboot when
    the logged ``counter`` (the raw ``local_timestamp``, us; default: ``t_device_s``) went
    back there, else a glitch.
    """
    t_device_s = np.asarray(t_device_s, dtype=np.float64)
    t_host_s = np.array(t_host_s, dtype=np.float64)
    bad_host = np.zeros(len(t_host_s), dtype=bool)
    bad_device = bad_host.copy()
    if _mismatched_steps(t_device_s, t_host_s, jump_s).any():
        bad_host, bad_device = _offset_outliers(t_device_s, t_host_s, jump_s)
        t_host_s[bad_host] = np.nan
    repaired, steps = repair_clock_jumps(t_device_s, t_host_s, jump_s)
    counter = t_device_s if counter is None else np.asarray(counter, dtype=np.float64)
    went_back = np.diff(counter)[steps] < 0 if len(steps) else np.zeros(0, dtype=bool)
    reboot = went_back & ~bad_device[steps] & ~bad_device[steps + 1]
    return ClockRepair(repaired, t_host_s, steps[~reboot], steps[reboot], bad_host)


def _mismatched_steps(t_device_s: np.ndarray, t_host_s: np.ndarray, jump_s: float) -> np.ndarray:
    """Steps whose device and host intervals differ by more than ``jump_s`` (s), or that go
    back by more than ``jump_s`` on the device clock where a host time is missing."""
    if len(t_device_s) < 2:
        return np.zeros(0, dtype=bool)
    d_dev, d_host = np.diff(t_device_s), np.diff(t_host_s)
    return np.where(np.isfinite(d_host), np.abs(d_dev - d_host) > jump_s, d_dev < -jump_s)


def _offset_outliers(
    t_device_s: np.ndarray, t_host_s: np.ndarray, jump_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose host time, or whose device time, is an isolated outlier (two bool arrays).

    The offset host - device is constant within a stretch of the log (drift: ppm, jitter:
    ms) and steps at a jump or reboot; a running median over :data:`OUTLIER_WINDOW` rows
    follows a step but not an isolated spike. A spike is blamed on the clock that departs
    more from the running median of its own values (both see the same gaps).
    """
    rows = np.flatnonzero(np.isfinite(t_host_s) & np.isfinite(t_device_s))
    host, device = t_host_s[rows], t_device_s[rows]
    offset = host - device
    spike = np.abs(offset - _running_median(offset)) > jump_s
    host_departs = np.abs(host - _running_median(host)) > np.abs(device - _running_median(device))
    bad_host = np.zeros(len(t_host_s), dtype=bool)
    bad_device = bad_host.copy()
    bad_host[rows[spike & host_departs]] = True
    bad_device[rows[spike & ~host_departs]] = True
    return bad_host, bad_device


def _running_median(values: np.ndarray) -> np.ndarray:
    """Centred running median over :data:`OUTLIER_WINDOW` values (fewer at the ends)."""
    rolling = pd.Series(values).rolling(OUTLIER_WINDOW, center=True, min_periods=1)
    return rolling.median().to_numpy()


def impossible_counter_values(counter_us: np.ndarray) -> np.ndarray:
    """Rows (bool) whose ``local_timestamp`` (us) no 32-bit counter printed with ``%d`` can show.

    A genuine negative value is the counter's upper half printed signed: a run of negative values
    is genuine when it starts the log or follows the step from near +2**31 to near -2**31 (a step
    back of more than 2**31 us, which the reader unwraps). Any other negative value (say -5 among
    values near 1 000 000), and any value below -2**31, is impossible.
    """
    counter_us = np.asarray(counter_us, dtype=np.int64)
    negative = counter_us < 0
    if not negative.any():
        return negative
    starts = negative & ~np.concatenate([[False], negative[:-1]])
    step_in = np.diff(counter_us, prepend=counter_us[:1])
    genuine_start = starts & ((np.arange(len(counter_us)) == 0) | (step_in < INT32_MIN_US))
    run = np.maximum(np.cumsum(starts) - 1, 0)
    genuine = negative & genuine_start[starts][run]
    return (negative & ~genuine) | (counter_us < INT32_MIN_US)


def check_counter_advances(sorted_t_s: np.ndarray, counter_us: np.ndarray, source: str) -> None:
    """Refuse a device counter whose rows share times far beyond :data:`MAX_REPEATED_TIME_SHARE`.

    ``sorted_t_s``: device times (s) in time order; ``counter_us``: the logged values (us), to
    name the most repeated one.

    Raises:
        ClockError: more than :data:`MAX_REPEATED_TIME_SHARE` of the rows repeat an earlier time.
    """
    repeats = int(np.count_nonzero(np.diff(sorted_t_s) == 0))
    if repeats <= MAX_REPEATED_TIME_SHARE * len(sorted_t_s):
        return
    values, counts = np.unique(np.asarray(counter_us), return_counts=True)
    top = int(np.argmax(counts))
    raise ClockError(
        f"{source}: the device counter (local_timestamp) does not advance: {repeats:,} of "
        f"{len(sorted_t_s):,} rows repeat an earlier value ({counts[top]:,} rows read {values[top]} us); "
        f"more than {MAX_REPEATED_TIME_SHARE:.0%} of the rows cannot be distinct packets in time. "
        "The counter is stuck, or the same packets were logged twice with different host times; "
        f"dropping the repeats would discard {repeats:,} rows"
    )


def check_drift(fit: ClockFit | None, t_device_s: np.ndarray, t_host_s: np.ndarray, source: str) -> None:
    """Refuse a host-clock fit whose drift is beyond :data:`MAX_DRIFT_PPM`.

    Judged only where the clocks' total disagreement over the rows with both times (device span
    in s times ``|slope - 1|``) exceeds :data:`MIN_DRIFT_DISAGREEMENT_S`.

    Raises:
        ClockError: the device counter runs more than :data:`MAX_DRIFT_PPM` off the host clock.
    """
    if fit is None:
        return
    both = np.isfinite(np.asarray(t_host_s, dtype=np.float64))
    device_s = float(np.ptp(np.asarray(t_device_s, dtype=np.float64)[both]))
    host_s = fit.slope * device_s
    if abs(fit.drift_ppm) <= MAX_DRIFT_PPM or abs(host_s - device_s) <= MIN_DRIFT_DISAGREEMENT_S:
        return
    raise ClockError(
        f"{source}: the device clock (local_timestamp) and the host clock disagree: over the log the "
        f"device counter advanced {device_s:.4g} s while the host clock advanced {host_s:.4g} s, a fitted "
        f"drift of {fit.drift_ppm:+,.0f} ppm (robust line through {fit.used:,} rows). An ESP32 crystal "
        f"drifts by tens of ppm; beyond +-{MAX_DRIFT_PPM:g} ppm the counter is not a microsecond clock "
        "(another unit, rescaled or faulty) or the host times do not belong to this log"
    )
