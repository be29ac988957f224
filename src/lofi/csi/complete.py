"""CSI completion (paper step 5): from a parsed log to one row per sent ping.

Steps, each counted in the report:

1. drop rows whose ``local_timestamp`` no 32-bit counter prints (a negative value
   that is not the counter's upper half printed signed); keep the ping replies: the
   dominant transmitter MAC and, where logged, the ``sig_mode`` sub-streams that
   ``keep_sig_modes`` keeps (``auto``: the dominant one, and each other one whose timing
   shows it fills the ping stream's slots, not beacons every 102.4 ms or frames between
   pings; see :mod:`lofi.csi.beacons`); a row whose MAC or sig_mode the reader could not
   parse is kept;
2. drop exact duplicate rows; of rows sharing a device time, keep the first (a
   counter whose rows share times far more often is refused as stuck);
3. set isolated bad host times to NaN (``bad_host_times``), repair device-clock
   jumps, count reboots (the counter restarted; each starts a new ``segment``) and
   order the rows by device time (see :func:`lofi.csi.clock.repair_clocks`);
4. map device to host time by a robust line (crystal drift, serial jitter); a drift
   beyond :data:`lofi.csi.clock.MAX_DRIFT_PPM` is refused (the counter is no clock);
5. find lost packets from device-time gaps (eq. 4) and insert their rows at
   evenly spaced times, ``lost=True``; a completion that would insert more than
   :data:`MAX_INSERTED_PER_RECEIVED` rows per received one is refused (a wrong rate),
   and so is a given rate more than :data:`lofi.csi.loss.MAX_RATE_RATIO` times off
   the log's median packet interval;
6. fill the lost rows (linear, spline, none); gaps longer than ``max_gap_s`` stay
   NaN (``outage``), gaps longer than ``max_insert_s`` get no rows at all and start
   a new ``segment``.

Amplitude is ``|H|`` in raw int8 units; phase is sanitised (see :mod:`lofi.csi.phase`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from lofi.csi.beacons import choose_sig_modes
from lofi.csi.choices import DEFAULT_KEEP_SIG_MODES, MAX_RATE_HZ, parse_keep_sig_modes
from lofi.csi.clock import (
    ClockFit,
    check_counter_advances,
    check_drift,
    fit_host_clock,
    impossible_counter_values,
    repair_clocks,
)
from lofi.csi.fill import AmplitudeFiller, FillMethodUnavailableError, fill_rows
from lofi.csi.loss import check_given_rate, estimate_rate_hz, missing_per_gap
from lofi.csi.phase import sanitize_phase_by_subcarrier
from lofi.io.esp32.reader import CsiLog, unwrap_us_counter

_ROWS_PER_BLOCK = 8192  # rows computed at once: small temporaries that stay in the cache
#: Most lost rows inserted per received row (loss above 90.9 %). A real log with a loss that
#: high is an outage, not data; more often the rate f2 is wrong (e.g. given in the wrong unit).
MAX_INSERTED_PER_RECEIVED = 10


class CsiCompletionError(ValueError):
    """A CSI log cannot be completed (e.g. no ping rows at all)."""


@dataclass(frozen=True)
class CompletionOptions:
    """Settings of :func:`complete_csi`.

    Attributes:
        fill: linear, spline, none or csibert.
        rate_hz: nominal ping rate f2 (Hz); None estimates it from the intervals.
        max_gap_s: longest gap (s) that is filled; longer gaps stay NaN (``outage``).
        max_insert_s: longest gap (s) that gets rows; longer ones start a new segment.
        clock_jump_s: device/host interval mismatch (s) that counts as a clock jump.
        keep_sig_modes: which sig_mode sub-streams of the pinged transmitter are pings: ``auto``
            (by their timing, see :mod:`lofi.csi.beacons`), ``dominant`` (the most frequent only),
            ``all``, or a list such as ``0,1``.
    """

    fill: str = "linear"
    rate_hz: float | None = None
    max_gap_s: float = 0.5
    max_insert_s: float = 60.0
    clock_jump_s: float = 1.0
    keep_sig_modes: str = DEFAULT_KEEP_SIG_MODES

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep_sig_modes", parse_keep_sig_modes(self.keep_sig_modes))
        if self.rate_hz is not None and not 0 < self.rate_hz <= MAX_RATE_HZ:
            raise ValueError(f"rate_hz must be > 0 and <= {MAX_RATE_HZ:g} Hz, got {self.rate_hz}")
        for name in ("max_insert_s", "clock_jump_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 s, got {getattr(self, name)}")
        if not self.max_gap_s >= 0:
            raise ValueError(f"max_gap_s must be >= 0 s, got {self.max_gap_s}")


@dataclass
class CompletionReport:
    """What :func:`complete_csi` found and did (counts of rows; ``clock_jumps`` and ``reboots``
    count steps of the device clock, ``bad_host_times`` rows whose host time was an outlier;
    ``sig_modes``: which sig_mode sub-streams were kept and why, see
    :meth:`lofi.csi.beacons.SigModeChoice.as_dict`)."""

    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    sig_modes: dict | None = None
    clock_jumps: int = 0
    reboots: int = 0
    bad_host_times: int = 0
    reordered: int = 0
    rate_hz: float = float("nan")
    rate_source: str = ""
    received: int = 0
    lost: int = 0
    filled: int = 0
    outage_rows: int = 0
    outages: int = 0
    segments: int = 1
    fill_method: str = ""
    fill_detail: str = ""
    host_fit: dict | None = None

    @property
    def loss_pct(self) -> float:
        """Lost packets in % of the packets sent (received + lost)."""
        sent = self.received + self.lost
        return 100.0 * self.lost / sent if sent else float("nan")

    def as_dict(self) -> dict:
        """JSON-ready dictionary, with ``loss_pct``."""
        return {**asdict(self), "loss_pct": round(self.loss_pct, 4)}


@dataclass
class CompletedCsi:
    """One row per sent ping: scalar columns, amplitude and phase (rows x subcarriers), report."""

    table: pd.DataFrame
    amplitude: np.ndarray
    phase: np.ndarray
    subcarriers: np.ndarray
    report: CompletionReport


def complete_csi(
    log: CsiLog,
    options: CompletionOptions | None = None,
    amplitude_filler: AmplitudeFiller | None = None,
    rate_origin: str = "rate_hz",
) -> CompletedCsi:
    """Complete a parsed CSI log (see the module docstring for the steps).

    ``fill="csibert"`` needs ``amplitude_filler`` (a pre-trained CSI-BERT): it recovers the
    amplitude of the filled rows; phase and RSSI are filled linearly. ``rate_origin`` names where
    ``options.rate_hz`` came from (an option, or a file and its field) for the error refusing it.

    Raises:
        CsiCompletionError: no ping rows; a rate that would insert far more rows than received.
        ClockError: a device counter that does not advance, or runs beyond
            :data:`~lofi.csi.clock.MAX_DRIFT_PPM` off the host clock.
        RateMismatchError: a given rate more than :data:`~lofi.csi.loss.MAX_RATE_RATIO` times
            off the log's median packet interval.
    """
    options = options or CompletionOptions()
    if options.fill == "csibert" and amplitude_filler is None:
        raise FillMethodUnavailableError(
            "fill method 'csibert' needs a pre-trained CSI-BERT: pass --checkpoint csibert_recovery.pt"
        )
    report = CompletionReport(rows_read=len(log.table), fill_method=options.fill)
    source = log.report.source
    rows = _ordered_rows(log, report, options)
    fit = fit_host_clock(rows.t_device, rows.t_host)
    check_drift(fit, rows.t_device, rows.t_host, source)
    report.host_fit = _fit_summary(fit)
    _set_rate(report, rows.t_device, options.rate_hz)
    grid = _insert_lost(rows.t_device, rows.segment, report, options, source)
    if report.rate_source == "given":
        within = np.diff(grid.segment[grid.received_at]) == 0  # not across reboots and long gaps
        check_given_rate(report.rate_hz, estimate_rate_hz(rows.t_device, within), rate_origin, source)
    return _assemble(rows.table, rows.csi, rows.t_host_raw, grid, fit, log, report, options, amplitude_filler)


@dataclass
class _Rows:
    """Kept rows: metadata, CSI, device and host times (s; outliers NaN, and as logged), segment."""

    table: pd.DataFrame
    csi: np.ndarray
    t_device: np.ndarray
    t_host: np.ndarray
    t_host_raw: np.ndarray
    segment: np.ndarray

    def take(self, order: np.ndarray) -> _Rows:
        """The rows at positions ``order``."""
        return _Rows(
            self.table.iloc[order],
            self.csi[order],
            self.t_device[order],
            self.t_host[order],
            self.t_host_raw[order],
            self.segment[order],
        )


def _ordered_rows(log: CsiLog, report: CompletionReport, options: CompletionOptions) -> _Rows:
    """Steps 1-3: the ping rows, without duplicates, clocks repaired, in device-time order.

    Raises:
        CsiCompletionError: no ping row is left.
        ClockError: the device counter does not advance (see :func:`check_counter_advances`).
    """
    dropped: Counter = Counter()
    table, csi = _kept_rows(log, report, dropped, options)
    t_host_raw = table["t_host"].to_numpy(np.float64)
    counter = table["local_timestamp"].to_numpy() if "local_timestamp" in table.columns else None
    clocks = repair_clocks(table["t_device"].to_numpy(np.float64), t_host_raw, options.clock_jump_s, counter)
    t_device = clocks.t_device_s
    report.clock_jumps, report.reboots = len(clocks.jumps), len(clocks.reboots)
    report.bad_host_times = int(np.count_nonzero(clocks.bad_host))
    report.reordered = int(np.count_nonzero(np.diff(t_device) < 0))
    order = np.argsort(t_device, kind="stable")
    logged_us = np.round(t_device * 1e6) if counter is None else counter
    check_counter_advances(t_device[order], logged_us, log.report.source)
    order = order[_first_of_each_time(t_device[order], dropped)]
    report.dropped = {k: int(v) for k, v in dropped.items()}
    rows = _Rows(table, csi, t_device, clocks.t_host_s, t_host_raw, clocks.segment)
    return rows if np.array_equal(order, np.arange(len(table))) else rows.take(order)


def _kept_rows(
    log: CsiLog, report: CompletionReport, dropped: Counter, options: CompletionOptions
) -> tuple[pd.DataFrame, np.ndarray]:
    """Steps 1-2: the rows with a possible counter value, from the pinged transmitter, each once.

    Raises:
        CsiCompletionError: no row is left.
    """
    table, csi = _possible_counter_rows(log.table.reset_index(drop=True), log.csi, dropped)
    keep = _ping_rows(table, dropped, report, options) & _exact_duplicates(table, csi, dropped)
    if not keep.all():
        table, csi = table[keep].reset_index(drop=True), csi[keep]
    if len(table) == 0:
        why = log.report.empty_reason or f"{report.rows_read} rows read, dropped {dict(dropped)}"
        skipped = f"; lines skipped: {log.report.skipped_by_reason}" if log.report.skipped else ""
        raise CsiCompletionError(f"{log.report.source}: no CSI ping rows ({why}{skipped})")
    return table, csi


def _possible_counter_rows(
    table: pd.DataFrame, csi: np.ndarray, dropped: Counter
) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop the rows whose ``local_timestamp`` no 32-bit counter prints (see
    :func:`impossible_counter_values`), counted as ``negative_local_timestamp``; the device
    times (s) of the others are unwrapped again without them."""
    if "local_timestamp" not in table.columns:
        return table, csi
    counter = table["local_timestamp"].to_numpy(np.int64)
    bad = impossible_counter_values(counter)
    if not bad.any():
        return table, csi
    dropped["negative_local_timestamp"] += int(np.count_nonzero(bad))
    kept = table[~bad].reset_index(drop=True)
    kept["t_device"] = unwrap_us_counter(counter[~bad]) / 1e6
    return kept, csi[~bad]


def _ping_rows(
    table: pd.DataFrame, dropped: Counter, report: CompletionReport, options: CompletionOptions
) -> np.ndarray:
    """Rows from the dominant transmitter, of the sig_mode sub-streams that are pings.

    A row whose MAC the reader could not parse is not judged by it; the sig_mode
    sub-streams of the kept rows are chosen by :func:`lofi.csi.beacons.choose_sig_modes`
    (``options.keep_sig_modes``), which drops ``beacon`` and ``other_sig_mode`` rows.
    """
    keep = np.ones(len(table), dtype=bool)
    if "mac" in table.columns and len(table) and not table["mac"].isna().all():
        values = table["mac"]
        rule = (values == values.mode(dropna=True).iloc[0]) | values.isna()
        keep &= rule.fillna(False).to_numpy(bool)
        dropped["other_mac"] += int(np.count_nonzero(~keep))
    if "sig_mode" not in table.columns or not keep.any():
        return keep
    rows = np.flatnonzero(keep)
    sig_mode = pd.to_numeric(table["sig_mode"].iloc[rows], errors="coerce").to_numpy(
        np.float64, na_value=np.nan
    )
    t_device = table["t_device"].to_numpy(np.float64)[rows]
    choice = choose_sig_modes(t_device, sig_mode, options.keep_sig_modes, options.rate_hz)
    if choice.streams:
        report.sig_modes = choice.as_dict()
    keep[rows] = choice.keep
    for reason in ("beacon", "other_sig_mode"):
        dropped[reason] += choice.dropped.get(reason, 0)
    return keep


def _exact_duplicates(table: pd.DataFrame, csi: np.ndarray, dropped: Counter) -> np.ndarray:
    """False for rows that repeat an earlier row exactly (metadata and CSI)."""
    keep = np.ones(len(table), dtype=bool)
    if np.all(np.diff(table["t_device"].to_numpy()) > 0):
        return keep  # no two rows share a device time
    keys = [c for c in ("t_device", "seq", "t_host", "rssi", "mac") if c in table.columns]
    candidates = np.flatnonzero(table.duplicated(subset=keys, keep=False).to_numpy())
    if len(candidates):
        rows = table.iloc[candidates][keys].assign(_csi=[csi[i].tobytes() for i in candidates])
        exact = rows.duplicated(keep="first").to_numpy()
        keep[candidates[exact]] = False
        dropped["duplicate_row"] += int(exact.sum())
    return keep


def _first_of_each_time(sorted_t: np.ndarray, dropped: Counter) -> np.ndarray:
    """Of rows sharing a device time (sorted order), keep the first; count the others."""
    repeat = np.concatenate([[False], np.diff(sorted_t) == 0])
    dropped["duplicate_device_time"] += int(repeat.sum())
    return ~repeat


def _set_rate(report: CompletionReport, t_device: np.ndarray, rate_hz: float | None) -> None:
    if rate_hz is not None:
        report.rate_hz, report.rate_source = float(rate_hz), "given"
        return
    report.rate_hz, report.rate_source = estimate_rate_hz(t_device), "estimated"
    if not np.isfinite(report.rate_hz):
        report.rate_hz, report.rate_source = 0.0, "unknown"


@dataclass
class _Grid:
    """Positions of received and inserted rows in the completed table."""

    n_rows: int
    received_at: np.ndarray
    inserted_at: np.ndarray
    t_device: np.ndarray
    outage: np.ndarray
    segment: np.ndarray


def _insert_lost(
    t: np.ndarray, boot: np.ndarray, report: CompletionReport, options: CompletionOptions, source: str
) -> _Grid:
    """Eq. (4) per gap, then evenly spaced device times for the missing rows.

    ``boot`` numbers the rows' stretches between reboots; no rows are inserted across
    a reboot or a gap longer than ``max_insert_s`` (s), and each starts a new segment.
    """
    n = len(t)
    gap_s = np.diff(t)
    k = missing_per_gap(t, report.rate_hz) if report.rate_hz > 0 and n > 1 else np.zeros(max(n - 1, 0), int)
    breaks = (gap_s > options.max_insert_s) | (np.diff(boot) != 0)
    k[breaks] = 0
    _check_insertions(int(k.sum()), n, t, report, source)
    received_at = np.arange(n) + np.concatenate([[0], np.cumsum(k)])
    gap = np.repeat(np.arange(len(k)), k)
    step = np.arange(len(gap)) - np.repeat(np.cumsum(k) - k, k) + 1
    t_ins = t[gap] + step * gap_s[gap] / (k[gap] + 1)
    inserted_at = received_at[gap] + step
    n_rows = n + len(gap)
    t_all = np.empty(n_rows)
    t_all[received_at], t_all[inserted_at] = t, t_ins
    outage = np.zeros(n_rows, dtype=bool)
    outage[inserted_at] = gap_s[gap] > options.max_gap_s
    segment = np.zeros(n_rows, dtype=np.int32)
    segment[received_at[1:][breaks]] = 1
    segment = np.cumsum(segment, dtype=np.int32)
    report.received, report.lost = n, len(gap)
    report.outage_rows = int(outage.sum())
    report.outages = int(np.count_nonzero(k[gap_s > options.max_gap_s]))
    report.segments = int(breaks.sum()) + 1
    return _Grid(n_rows, received_at, inserted_at, t_all, outage, segment)


def _check_insertions(lost: int, received: int, t: np.ndarray, report: CompletionReport, source: str) -> None:
    """Refuse to insert more than :data:`MAX_INSERTED_PER_RECEIVED` rows per received row."""
    if lost <= MAX_INSERTED_PER_RECEIVED * received:
        return
    typical = estimate_rate_hz(t)
    typical_text = f"{typical:.4g} Hz" if math.isfinite(typical) else "unknown"
    raise CsiCompletionError(
        f"{source}: at f2 = {report.rate_hz:g} Hz ({report.rate_source}), eq. 4 finds {lost:,} lost "
        f"packets for {received:,} received, more than {MAX_INSERTED_PER_RECEIVED} per received packet; "
        f"the rate is probably wrong (the log's median interval gives {typical_text}). Check --rate-hz "
        "or csi_rate_hz in session.yaml; if the log really has long outages, a smaller --max-insert-s "
        "splits them into segments instead"
    )


def _fit_summary(fit: ClockFit | None) -> dict | None:
    if fit is None:
        return None
    return {
        "slope": fit.slope,
        "drift_ppm": round(fit.drift_ppm, 3) if fit.drift_fitted else None,  # None: too short a log
        "residual_rms_ms": round(fit.residual_rms_ms, 3),
        "residual_mad_ms": round(fit.residual_mad_ms, 3),
        "used": fit.used,
        "outliers": fit.outliers,
    }


def _spread(values: np.ndarray, at: np.ndarray, received: np.ndarray, missing: object = np.nan) -> np.ndarray:
    """A C-ordered array of ``len(received)`` rows: ``values`` at rows ``at``, ``missing`` elsewhere."""
    out = np.empty((len(received), *values.shape[1:]), dtype=values.dtype)
    out[at] = values
    out[~received] = missing
    return out


def _amplitude(csi: np.ndarray, at: np.ndarray, received: np.ndarray) -> np.ndarray:
    """``|csi|`` (float32) at rows ``at`` of ``len(received)`` rows, NaN elsewhere; by blocks of rows."""
    out = np.empty((len(received), csi.shape[1]), dtype=np.float32)
    for start in range(0, len(csi), _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        out[at[rows]] = np.abs(csi[rows])
    out[~received] = np.nan
    return out


def _seq_column(table: pd.DataFrame, at: np.ndarray, received: np.ndarray) -> pd.arrays.IntegerArray:
    """The logged ``seq`` at the received rows as nullable Int64 (null elsewhere, or everywhere)."""
    if "seq" not in table.columns:
        return pd.arrays.IntegerArray(np.zeros(len(received), np.int64), np.ones(len(received), dtype=bool))
    values = _spread(table["seq"].to_numpy(np.int64), at, received, missing=0)
    return pd.arrays.IntegerArray(values, ~received)


def subcarrier_numbers(names: list[str]) -> np.ndarray:
    """Subcarrier numbers from reader column names such as ``lltf:-26``."""
    return np.array([int(name.rsplit(":", 1)[-1]) for name in names], dtype=np.int64)


def _assemble(
    table: pd.DataFrame,
    csi: np.ndarray,
    t_host_raw: np.ndarray,
    grid: _Grid,
    fit: ClockFit | None,
    log: CsiLog,
    report: CompletionReport,
    options: CompletionOptions,
    amplitude_filler: AmplitudeFiller | None = None,
) -> CompletedCsi:
    n = grid.n_rows
    subcarriers = subcarrier_numbers(log.subcarriers)
    received = np.zeros(n, dtype=bool)
    received[grid.received_at] = True
    amplitude = _amplitude(csi, grid.received_at, received)
    phase = _spread(sanitize_phase_by_subcarrier(csi, subcarriers).T, grid.received_at, received)
    rssi = _spread(table["rssi"].to_numpy(np.float32), grid.received_at, received)
    to_fill = ~received & ~grid.outage if options.fill != "none" else np.zeros(n, dtype=bool)
    method = "linear" if options.fill == "csibert" else options.fill  # csibert: linear, then recovered
    amplitude = fill_rows(grid.t_device, amplitude, received, to_fill, method, copy=False)
    phase = fill_rows(grid.t_device, phase, received, to_fill, method, copy=False)
    rssi = fill_rows(grid.t_device, rssi, received, to_fill, method, copy=False)
    report.filled = int(to_fill.sum())
    if options.fill == "csibert" and to_fill.any():
        result = amplitude_filler.fill(amplitude, to_fill, received, grid.segment)
        amplitude = result.amplitude
        report.fill_detail = (
            f"amplitude recovered by CSI-BERT ({result.fallback_rows} row(s) kept the linear fill); "
            "phase and RSSI filled linearly"
        )
    raw_host = _spread(t_host_raw, grid.received_at, received)
    seq = _seq_column(table, grid.received_at, received)
    scalars = pd.DataFrame(
        {
            "t_host": fit.host_time(grid.t_device) if fit else np.full(n, np.nan),
            "t_host_raw": raw_host,
            "t_device": grid.t_device,
            "seq": seq,
            "rssi": rssi,
            "lost": ~received,
            "filled": to_fill,
            "outage": grid.outage,
            "segment": grid.segment,
        }
    )
    return CompletedCsi(scalars, amplitude, phase, subcarriers, report)
