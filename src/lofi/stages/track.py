"""Stage ``track``: live positions from a CSI stream, with a trained run's model.

The stream is an ESP32 on a serial port (``--serial``) or a CSI log replayed at its rate
(``--replay``). The tracker keeps the last few windows' worth of CSI lines; each time a
window's length of new CSI rows has arrived it completes that tail as ``lofi csi`` does (lost
rows found from the device clock and short gaps filled: :func:`~lofi.csi.complete.complete_csi`),
takes the newest full window of completed rows (never across an outage or a new segment), makes
its input as in training and applies the run's model (:mod:`lofi.stages.predict`). Each position
carries its latency: seconds from the arrival of the newest CSI line in the window to the
position being computed.

Output: one row per position: ``t_host``, ``t_device`` (s, the window's centre), ``x_m``, ``y_m``
(m), ``region2``, ``region4``, ``region6``, ``latency_ms``; plus ``start`` and ``segment`` (the
window's place in the stream, for the trajectory plot).
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.complete import CompletionOptions, CsiCompletionError, complete_csi
from lofi.data.windows import run_ids, valid_window_starts
from lofi.io.esp32.reader import read_csi_bytes
from lofi.io.serial_lines import CSI_ROW_MARK
from lofi.io.session import session_csi_path
from lofi.io.tables import write_table
from lofi.stages.csi import session_rate_hz
from lofi.stages.predict import (
    LoadedRun,
    SessionCsi,
    fill_method,
    load_run,
    predict_windows,
    prediction_table,
    save_trajectory,
    session_csi,
    sig_modes_of,
)
from lofi.stages.record_choices import DEFAULT_BAUD

#: Windows of CSI lines the tracker keeps (the tail it completes each time).
TAIL_WINDOWS = 3
#: What marks a CSI line of the ESP32 firmwares (others: header, boot messages, logs).
CSI_MARK = CSI_ROW_MARK
#: Ping rate (Hz) a replay is paced at when neither the option nor the session says.
DEFAULT_RATE_HZ = 100.0


@dataclass
class Tracker:
    """Positions of the newest windows of a CSI stream (see the module docstring)."""

    run: LoadedRun
    options: CompletionOptions = field(default_factory=CompletionOptions)
    header: bytes = b""
    lines: deque = field(default_factory=deque)
    since_last: int = 0
    other_lines: int = 0
    rows_seen: int = 0
    #: Why a window's position could not be computed yet, and how often (e.g. too few rows).
    waiting: Counter = field(default_factory=Counter)

    def feed(self, arrival_s: float, line: bytes) -> pd.DataFrame | None:
        """Take one line (arrived at monotonic time ``arrival_s``); the new position's row when this
        line completes a window's worth of new CSI rows and the tail holds a full window, else None."""
        if CSI_MARK not in line:
            if not self.rows_seen and b"," in line and not self.header:
                self.header = line.rstrip(b"\r\n") + b"\n"  # a CSV header before the first row
            else:
                self.other_lines += 1
            return None
        self.lines.append((arrival_s, line.rstrip(b"\r\n") + b"\n"))
        while len(self.lines) > TAIL_WINDOWS * self.run.record.length:
            self.lines.popleft()
        self.rows_seen += 1
        self.since_last += 1
        if self.since_last < self.run.record.length:
            return None
        self.since_last = 0
        return self.locate()

    def locate(self) -> pd.DataFrame | None:
        """The position of the newest full window of the tail (None: no full window yet)."""
        newest = self.lines[-1][0]
        raw = self.header + b"".join(line for _, line in self.lines)
        try:
            completed = complete_csi(read_csi_bytes(raw, source="<stream>"), self.options)
        except (CsiCompletionError, ValueError) as err:  # too few rows yet, or a stretch of garbage
            self.waiting[str(err).splitlines()[0][:200]] += 1
            return None
        csi = session_csi(completed)
        start = newest_window(csi, self.run)
        if start is None:
            return None
        starts = np.array([start])
        table = prediction_table(self.run.record, csi, starts, predict_windows(self.run, csi, starts))
        table["latency_ms"] = 1000.0 * (time.monotonic() - newest)
        table["start"] = self.rows_seen - self.run.record.length
        table["segment"] = 0
        return table


def newest_window(csi: SessionCsi, run: LoadedRun) -> int | None:
    """First row of the last full window of usable rows in one segment, or None."""
    length = run.record.length
    if csi.amplitude.shape[1] != run.record.n_subcarriers:
        return None
    usable = csi.usable(run.record.extra)
    starts = valid_window_starts(usable, run_ids(csi.segment), length, stride=1)
    return int(starts[-1]) if len(starts) else None


def replay_lines(path: str | Path, rate_hz: float, speed: float = 1.0) -> Iterator[tuple[float, bytes]]:
    """The lines of a CSI log with their arrival times (monotonic s), CSI lines paced at ``rate_hz``
    times ``speed`` (``speed`` 0: as fast as they can be read)."""
    period = 0.0 if speed <= 0 else 1.0 / (rate_hz * speed)
    due = time.monotonic()
    with open(path, "rb") as handle:
        for line in handle:
            if period and CSI_MARK in line:
                due += period
                time.sleep(max(0.0, due - time.monotonic()))
            yield time.monotonic(), line


def serial_lines(port: str, baud: int, poll_s: float = 0.05) -> Iterator[tuple[float, bytes] | None]:
    """Lines from a serial port with their arrival times (monotonic s), until interrupted; None when
    nothing arrived for ``poll_s`` s (so a time limit is still checked).

    The port is read by ``lofi record``'s reader (a thread that splits the byte stream at newlines
    and stamps each line when its last byte arrived: a row is never cut by a read timeout).

    Raises:
        OSError: the port does not exist, is busy, cannot be opened, or fails while read (naming it).
    """
    from lofi.stages.record_devices import HostClock, SerialSource, open_serial

    clock, stop = HostClock(), threading.Event()
    source = SerialSource(open_serial(port, baud), clock, stop)
    source.start()
    try:
        while True:
            lines = source.take()
            if source.error:
                raise OSError(source.error)
            if not lines:
                time.sleep(poll_s)
                yield None
            lag = clock.now() - time.monotonic()  # host clock -> monotonic
            for line in lines:
                yield line.t_host - lag, line.text + b"\n"
    finally:
        stop.set()


def track(
    tracker: Tracker,
    lines: Iterable[tuple[float, bytes] | None],
    seconds: float | None = None,
    on_position=None,
) -> pd.DataFrame:
    """Feed ``lines`` to ``tracker``; call ``on_position(row)`` for each position; returns every
    position as one table. Stops at the stream's end, after ``seconds``, or on Ctrl-C."""
    rows: list[pd.DataFrame] = []
    began = time.monotonic()
    try:
        for item in lines:
            row = None if item is None else tracker.feed(*item)
            if row is not None:
                rows.append(row)
                if on_position:
                    on_position(row)
            if seconds is not None and time.monotonic() - began >= seconds:
                break
    except KeyboardInterrupt:
        pass  # a live session ends with Ctrl-C: keep what was tracked
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def run_track(
    run: str | Path,
    serial: str | None = None,
    replay: str | Path | None = None,
    baud: int = DEFAULT_BAUD,
    speed: float = 1.0,
    rate_hz: float | None = None,
    fill: str | None = None,
    seconds: float | None = None,
    out: str | Path | None = None,
    plot: str | Path | None = None,
    root: str | Path = ".",
    display=None,
    keep_sig_modes: str | None = None,
) -> pd.DataFrame:
    """Track RUN's positions on a serial port's stream or a replayed log (see the module docstring).

    ``rate_hz``: the nominal ping rate (Hz; default: the replayed session's ``csi_rate_hz``, else
    estimated by the completion and :data:`DEFAULT_RATE_HZ` for pacing a replay). ``display(record)``
    returns the callback each position is shown with. Writes ``out`` (parquet) and ``plot`` (PNG)
    when given; returns the positions.
    """
    loaded = load_run(run, root)
    if replay is not None:
        path = session_csi_path(replay)  # a session folder's csi.csv, or the file itself
        rate_hz = rate_hz or (session_rate_hz(replay) if Path(replay).is_dir() else None)
        lines = replay_lines(path, rate_hz or DEFAULT_RATE_HZ, speed)
    else:
        lines = serial_lines(str(serial), baud)
    options = CompletionOptions(
        fill_method(loaded, fill), rate_hz, keep_sig_modes=sig_modes_of(loaded, keep_sig_modes)
    )
    tracker = Tracker(loaded, options)
    table = track(tracker, lines, seconds, display(loaded.record) if display else None)
    if waiting_summary(tracker):
        print(waiting_summary(tracker), file=sys.stderr)
    if out and not table.empty:
        write_table(Path(out), table)
    if plot and not table.empty:
        title = f"lofi track: run {loaded.name} ({loaded.record.model}), {len(table)} positions"
        save_trajectory(table, loaded.record, Path(plot), title)
    return table


def waiting_summary(tracker: Tracker) -> str | None:
    """How often a position could not be computed, and the most frequent reason (None: never)."""
    if not tracker.waiting:
        return None
    reason, count = tracker.waiting.most_common(1)[0]
    return f"{sum(tracker.waiting.values())} windows without a position; most often ({count}x): {reason}"


def latency_summary(table: pd.DataFrame) -> str:
    """``median / p95 / max`` latency in ms of the positions."""
    if table.empty:
        return "no position"
    latency = table["latency_ms"].to_numpy()
    return (
        f"latency from the newest packet to its position: median {np.median(latency):.1f} ms, "
        f"p95 {np.percentile(latency, 95):.1f} ms, max {latency.max():.1f} ms ({len(latency)} positions)"
    )


def floor_view(region_m: tuple[float, float], trail: pd.DataFrame, px_per_m: float = 120.0) -> np.ndarray:
    """A BGR image of the floor region (w x d m, 6-region grid) with the last positions as a trail
    and the newest as a filled dot (for the live window)."""
    import cv2

    from lofi.data.regions import grid_shape

    w, d = region_m
    margin = 20
    size = (int(d * px_per_m) + 2 * margin, int(w * px_per_m) + 2 * margin)
    image = np.full((*size, 3), 255, np.uint8)

    def pixel(x: float, y: float) -> tuple[int, int]:
        return int(margin + x * px_per_m), int(margin + (d - y) * px_per_m)

    nx, ny = grid_shape(region_m, 6)
    for k in range(1, nx):
        cv2.line(image, pixel(k * w / nx, 0), pixel(k * w / nx, d), (190, 190, 190), 1)
    for k in range(1, ny):
        cv2.line(image, pixel(0, k * d / ny), pixel(w, k * d / ny), (190, 190, 190), 1)
    cv2.rectangle(image, pixel(0, d), pixel(w, 0), (0, 0, 0), 2)
    points = [pixel(x, y) for x, y in trail[["x_m", "y_m"]].to_numpy() if np.isfinite([x, y]).all()]
    for a, b in itertools.pairwise(points):
        cv2.line(image, a, b, (160, 120, 60), 1)
    if points:
        cv2.circle(image, points[-1], 9, (0, 0, 220), -1)
    return image
