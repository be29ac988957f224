"""Packet-loss detection from device-time gaps (paper eq. 4).

Between consecutive packets i and i+1, k_i = max(round((t_{i+1} - t_i) * f2 - 1), 0)
packets are missing, where f2 is the nominal ping rate in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest factor (either way) by which a given rate f2 may differ from the log's own rate (the
#: inverse of its median packet interval). Loss bursts and outages lengthen a few intervals, not the
#: median; a rate off by more than half again makes eq. 4 invent packets or miss lost ones.
MAX_RATE_RATIO = 1.5


class RateMismatchError(ValueError):
    """A given ping rate f2 contradicts the log's median packet interval."""


def missing_per_gap(t_s: np.ndarray, rate_hz: float) -> np.ndarray:
    """Eq. (4): packets missing after each packet (length ``len(t_s) - 1``).

    Args:
        t_s: packet times in seconds (device clock), in arrival order.
        rate_hz: nominal packet rate f2 in Hz.
    """
    if rate_hz <= 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz}")
    gaps = np.diff(np.asarray(t_s, dtype=np.float64))
    return np.maximum(np.round(gaps * rate_hz - 1.0), 0).astype(np.int64)


def estimate_rate_hz(t_s: np.ndarray, within: np.ndarray | None = None) -> float:
    """Nominal rate from the median positive interval (robust to loss bursts), in Hz.

    ``within`` (one bool per interval) keeps only the intervals inside a segment.
    """
    gaps = np.diff(np.asarray(t_s, dtype=np.float64))
    if within is not None:
        gaps = gaps[within]
    gaps = gaps[gaps > 0]
    if len(gaps) == 0:
        return float("nan")
    return float(1.0 / np.median(gaps))


@dataclass(frozen=True)
class LossSummary:
    """Loss of one log: nominal rate used, packets received and lost, loss in %."""

    rate_hz: float
    received: int
    lost: int

    @property
    def loss_pct(self) -> float:
        """Lost packets as a percentage of the packets sent (received + lost)."""
        sent = self.received + self.lost
        return 100.0 * self.lost / sent if sent else float("nan")


def summarize_loss(
    t_s: np.ndarray, rate_hz: float | None = None, segment: np.ndarray | None = None
) -> LossSummary:
    """Apply eq. (4) to a whole log; ``rate_hz`` defaults to :func:`estimate_rate_hz`.

    ``segment`` (one number per packet, e.g. counting reboots) leaves out the gaps between
    segments: nothing is known to be lost there.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    within = None if segment is None else np.diff(np.asarray(segment)) == 0
    rate = estimate_rate_hz(t_s, within) if rate_hz is None else float(rate_hz)
    if len(t_s) < 2 or not np.isfinite(rate):
        return LossSummary(rate, len(t_s), 0)
    missing = missing_per_gap(t_s, rate)
    return LossSummary(rate, len(t_s), int((missing if within is None else missing[within]).sum()))


def check_given_rate(rate_hz: float, log_rate_hz: float, origin: str, source: str) -> None:
    """Refuse a given rate f2 (Hz) more than :data:`MAX_RATE_RATIO` times off the log's rate (Hz).

    ``log_rate_hz`` is :func:`estimate_rate_hz` of the log (NaN: unknown, nothing to compare);
    ``origin`` names where the rate came from (an option, a file and field), ``source`` the log.

    Raises:
        RateMismatchError: the two rates differ by more than :data:`MAX_RATE_RATIO` either way.
    """
    if not np.isfinite(log_rate_hz) or log_rate_hz <= 0:
        return
    ratio = rate_hz / log_rate_hz
    if 1 / MAX_RATE_RATIO <= ratio <= MAX_RATE_RATIO:
        return
    faster, factor = ratio > 1, max(ratio, 1 / ratio)
    times = f"{factor:.3g}" if factor < 100 else f"{factor:,.0f}"
    effect = "invent packets that were never sent" if faster else "miss packets that were lost"
    raise RateMismatchError(
        f"{source}: f2 = {rate_hz:g} Hz from {origin} contradicts the log: its median packet interval, "
        f"{1e3 / log_rate_hz:.4g} ms, gives {log_rate_hz:.4g} Hz; the given rate is {times} times "
        f"{'faster' if faster else 'slower'} (at most {MAX_RATE_RATIO:g} times either way is accepted), "
        f"and with it eq. 4 would {effect}. Correct {origin} (with no rate given, f2 is the log's own)"
    )
