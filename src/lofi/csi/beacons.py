"""Which ``sig_mode`` sub-streams of the pinged transmitter are the ping stream (``--keep-sig-modes``).

An ESP32 logs CSI for every frame of the pinged MAC: the ping replies, and also the router's
beacons (non-HT, ``sig_mode`` 0, every 102.4 ms: 100 TU) and other management frames. Keeping
only the most frequent ``sig_mode`` drops beacons, but also real ping replies when the sender
switches between non-HT and HT frames (rate control): eq. 4 then counts them as lost and the
fill invents values in their place. So the setting ``auto`` judges each minority ``sig_mode``
sub-stream by its timing, on the device clock:

* **slots**: with the ping period P (the given rate, else the median interval of the dominant and
  the minority sub-stream merged), eq. 4 counts the packets missing from the dominant sub-stream
  alone and from both merged. A sub-stream that is part of the ping stream fills one missing
  slot per row; frames between the pings (a beacon between two pings one period apart) fill none.
  The sub-stream's *fill share* is the slots it fills per row;
* **beacon interval**: the sub-stream's own median interval lies in :data:`BEACON_INTERVAL_S`
  (~10 Hz) and is at least :data:`BEACON_RATE_RATIO` times the dominant sub-stream's.

A sub-stream whose fill share reaches :data:`FILLS_SLOTS_SHARE` (:data:`FILLS_SLOTS_SHARE_BEACON_LIKE`
for one with a beacon's interval) is part of the ping stream and is kept (rule ``fills_slots``):
keeping it gives the loss of the merged stream, ~0 % for a stream that alternates between
sig_modes. Otherwise it is dropped as ``beacon`` (rule ``beacon_interval`` or ``between_slots``).
With fewer than :data:`MIN_ROWS` rows timing cannot tell: they are dropped as ``other_sig_mode``
(rule ``too_few_rows``), as the ``dominant`` setting does. Rows without a ``sig_mode`` are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from lofi.csi.choices import parse_keep_sig_modes
from lofi.csi.loss import missing_per_gap

#: Own median interval (s) of a beacon sub-stream: 102.4 ms (100 TU) with some beacons lost or late.
BEACON_INTERVAL_S = (0.090, 0.115)
#: A beacon sub-stream's median interval is at least this many times the dominant sub-stream's.
BEACON_RATE_RATIO = 3.0
#: Fewest rows of a minority sub-stream for timing to decide.
MIN_ROWS = 3
#: Missing slots filled per row from which a sub-stream is part of the ping stream (beacons among
#: pings fill a slot only where the ping was lost; an alternating stream with jitter fills ~1) ...
FILLS_SLOTS_SHARE = 0.7
#: ... and the share a sub-stream with a beacon's interval needs.
FILLS_SLOTS_SHARE_BEACON_LIKE = 0.8


@dataclass(frozen=True)
class SubStream:
    """One ``sig_mode`` of the pinged transmitter: its rows, timing and what was decided.

    ``decision``: ``kept``, ``beacon`` or ``other_sig_mode`` (the drop reasons); ``rule``: what
    decided it (``dominant``, ``fills_slots``, ``beacon_interval``, ``between_slots``,
    ``too_few_rows``, ``all``, ``listed``, ``not_listed``). ``fills``: the dominant sub-stream's
    missing slots (eq. 4) that the rows fill (auto only, else None).
    """

    sig_mode: int
    rows: int
    median_interval_ms: float | None
    fills: int | None
    decision: str
    rule: str


@dataclass
class SigModeChoice:
    """Rows kept (one bool per row), the setting, the ping period used (ms) and each sub-stream."""

    keep: np.ndarray
    setting: str
    dominant: int | None = None
    period_ms: float | None = None
    streams: list[SubStream] = field(default_factory=list)

    @property
    def dropped(self) -> dict[str, int]:
        """Rows dropped per reason (``beacon``, ``other_sig_mode``)."""
        out: dict[str, int] = {}
        for s in self.streams:
            if s.decision != "kept":
                out[s.decision] = out.get(s.decision, 0) + s.rows
        return out

    @property
    def kept_sig_modes(self) -> list[int]:
        """The sig_mode values kept, the dominant one first."""
        return [s.sig_mode for s in self.streams if s.decision == "kept"]

    def as_dict(self) -> dict:
        """JSON-ready summary (no NaN): setting, dominant, kept, period, dropped, per sub-stream."""
        return {
            "setting": self.setting,
            "dominant": self.dominant,
            "kept": self.kept_sig_modes,
            "period_ms": self.period_ms,
            "dropped": self.dropped,
            "streams": [asdict(s) for s in self.streams],
        }


def _median_interval(t_s: np.ndarray) -> float:
    """Median positive interval (s) of sorted times; NaN with none."""
    gaps = np.diff(t_s)
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else float("nan")


def _ms(seconds: float) -> float | None:
    return round(seconds * 1e3, 3) if np.isfinite(seconds) else None


def filled_slots(t_minor: np.ndarray, t_dominant: np.ndarray, period_s: float) -> int:
    """Packets missing (eq. 4) from ``t_dominant`` alone less those missing from both streams
    merged, at the period ``period_s`` (times sorted, s): the slots the minority rows fill."""
    if not (np.isfinite(period_s) and period_s > 0) or len(t_dominant) < 2:
        return 0
    merged = np.sort(np.concatenate([t_dominant, t_minor]))
    rate = 1.0 / period_s
    return int(missing_per_gap(t_dominant, rate).sum() - missing_per_gap(merged, rate).sum())


def _judge(t_minor: np.ndarray, t_dominant: np.ndarray, rate_hz: float | None) -> tuple[int, str, str, float]:
    """(slots filled, decision, rule, period s) of one minority sub-stream (setting ``auto``)."""
    period = 1.0 / rate_hz if rate_hz else _median_interval(np.sort(np.concatenate([t_minor, t_dominant])))
    fills = filled_slots(t_minor, t_dominant, period)
    own, dominant = _median_interval(t_minor), _median_interval(t_dominant)
    beacon_like = (
        len(t_minor) >= MIN_ROWS
        and BEACON_INTERVAL_S[0] <= own <= BEACON_INTERVAL_S[1]
        and own >= BEACON_RATE_RATIO * dominant
    )
    if len(t_minor) < MIN_ROWS:
        decision, rule = "other_sig_mode", "too_few_rows"
    elif fills >= (FILLS_SLOTS_SHARE_BEACON_LIKE if beacon_like else FILLS_SLOTS_SHARE) * len(t_minor):
        decision, rule = "kept", "fills_slots"
    else:
        decision, rule = "beacon", "beacon_interval" if beacon_like else "between_slots"
    return fills, decision, rule, period


def choose_sig_modes(
    t_s: np.ndarray, sig_mode: np.ndarray, setting: str = "auto", rate_hz: float | None = None
) -> SigModeChoice:
    """Which rows of the pinged transmitter to keep by their ``sig_mode`` (see the module docstring).

    Args:
        t_s: device times (s) of the rows, in any order.
        sig_mode: their sig_mode (float; NaN where not logged: always kept).
        setting: ``auto``, ``dominant``, ``all`` or a list such as ``0,1`` (see
            :func:`lofi.csi.choices.parse_keep_sig_modes`).
        rate_hz: the nominal ping rate f2 when known (else the period is estimated).
    """
    setting = parse_keep_sig_modes(setting)
    t_s = np.asarray(t_s, dtype=np.float64)
    sig_mode = np.asarray(sig_mode, dtype=np.float64)
    keep = np.ones(len(t_s), dtype=bool)
    known = np.isfinite(sig_mode)
    if not known.any():
        return SigModeChoice(keep, setting)
    modes, counts = np.unique(sig_mode[known], return_counts=True)
    dominant = modes[np.argmax(counts)]  # ties: the smallest value, as pandas' mode()
    listed = None if setting in ("auto", "dominant", "all") else {float(v) for v in setting.split(",")}
    t_dominant = np.sort(t_s[sig_mode == dominant])
    choice = SigModeChoice(keep, setting, int(dominant))
    periods = []
    for mode in sorted(modes, key=lambda m: (m != dominant, m)):
        rows = sig_mode == mode
        t_minor = np.sort(t_s[rows])
        fills = None
        if listed is not None:
            decision, rule = ("kept", "listed") if mode in listed else ("other_sig_mode", "not_listed")
        elif setting == "all":
            decision, rule = "kept", "all"
        elif mode == dominant:
            decision, rule = "kept", "dominant"
        elif setting == "dominant":
            decision, rule = "other_sig_mode", "dominant"
        else:
            fills, decision, rule, period = _judge(t_minor, t_dominant, rate_hz)
            periods.append(period)
        keep[rows] = decision == "kept"
        own = _median_interval(t_minor)
        choice.streams.append(SubStream(int(mode), int(rows.sum()), _ms(own), fills, decision, rule))
    if periods:
        choice.period_ms = _ms(float(np.median(periods)))
    return choice
