"""Stage ``record``: one raw session from an ESP32 on a serial port and a camera (paper Fig. 1, step 1).

Both streams are stamped with one host clock (:class:`~lofi.stages.record_devices.HostClock`)
and written as they arrive into the session folder of DESIGN §5: ``csi.csv`` (esp-radar
layout, host ``timestamp`` filled in), ``video.mp4`` + ``frames.csv``, ``session.yaml``,
``calibration.yaml`` (a copy, when given) and ``serial.log`` (every serial line that is not
a CSI row). Files are flushed at least once a second, so a crash loses at most the last
second: ``csi.csv``, ``frames.csv`` and ``serial.log`` hold whole lines (a row cut by a
SIGKILL in the middle of a write is the reader's ``truncated_row``). After a SIGKILL
``video.mp4`` has no index and cannot be played; its ``frames.csv`` stays valid and the
CSI can still be used on its own. ``session.yaml`` says ``status: recording`` until the
recording ends cleanly (duration reached, Ctrl-C, SIGTERM, the serial port gone). A camera stream
that ends (a video file played as the camera, an unplugged webcam) ends the video, not the recording.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shutil
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from lofi import __version__
from lofi.csi.loss import estimate_rate_hz, missing_per_gap
from lofi.io.esp32.layouts import ESP_RADAR_HEADER
from lofi.io.names import check_name
from lofi.io.serial_lines import SERIAL_LOG, ConvertedLines, SerialCsiConverter
from lofi.io.session import (
    SESSION_CALIBRATION,
    SESSION_CSI,
    SESSION_FRAMES,
    SESSION_META,
    SESSION_VIDEO,
    read_yaml,
    write_yaml,
)
from lofi.io.video import FRAMES_COLUMNS, VideoWriter
from lofi.stages.record_devices import (
    DEFAULT_UDP_PORT,
    CameraSource,
    HostClock,
    IcmpPinger,
    SerialSource,
    UdpPinger,
    camera_source_of,
    check_target,
    is_file_source,
    open_camera,
    open_serial,
)

WRITTEN_BY = "lofi record"
#: Files a recording writes; a folder holding any of them already holds a session.
SESSION_FILES = (SESSION_META, SESSION_CSI, SESSION_VIDEO, SESSION_FRAMES, SESSION_CALIBRATION, SERIAL_LOG)
#: Most time between two flushes of the session's files (s): what a crash can lose.
FLUSH_S = 1.0
#: Frame rate written into video.mp4 when the camera does not report one (frames/s).
FALLBACK_FPS = 30.0
_WRAP_US = 1 << 32


@dataclass(frozen=True)
class PingOptions:
    """Host-generated traffic: ``method`` udp (to ``port``) or icmp (system ``ping``) at ``rate_hz``."""

    target: str
    rate_hz: float = 100.0
    method: str = "udp"
    port: int = DEFAULT_UDP_PORT


@dataclass(frozen=True)
class RecordOptions:
    """What to record and where. ``camera`` None records without video (a surveyed point at ``at_m``,
    region-frame metres); ``duration_s`` None records until Ctrl-C or SIGTERM."""

    out_dir: Path
    serial_port: str
    baud: int = 921600
    camera: str | None = None
    at_m: tuple[float, float] | None = None
    duration_s: float | None = None
    subjects: tuple[str, ...] = ()
    scene: str | None = None
    calibration: Path | None = None
    ping: PingOptions | None = None
    csi_rate_hz: float | None = None
    force: bool = False


@dataclass
class RecordStats:
    """Counts of one recording (rows, frames, lines) and its end."""

    duration_s: float = 0.0
    csi_rows: int = 0
    lost_packets: int = 0
    frames: int = 0
    frames_dropped: int = 0
    serial_log_lines: int = 0
    pings_sent: int = 0
    layout: str | None = None
    stopped_by: str = "duration"
    camera_ended: bool = False

    @property
    def loss_pct(self) -> float:
        """Lost packets (device-time gaps, eq. 4) as % of packets sent; NaN before any row."""
        sent = self.csi_rows + self.lost_packets
        return 100.0 * self.lost_packets / sent if sent else math.nan


# -- checks before anything is written ------------------------------------------------------------


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse a file, or a folder that already holds a session (unless ``force``)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder; give a new folder for the session")
    held = [name for name in SESSION_FILES if (out / name).exists()]
    if held and not force:
        raise FileExistsError(
            f"{out}: already holds a session ({', '.join(held)}); nothing was changed. Choose a new "
            "folder, or pass --force to replace the session's files"
        )


def region_bounds(scene: str | None, calibration: Path | None) -> tuple[tuple[float, float], ...] | None:
    """((x_lo, x_hi), (y_lo, y_hi)) of the floor region in m: the calibration's ``region`` if it has
    one, else the scene's (its region frame starts at 0); None when neither gives one."""
    if calibration is not None:
        from lofi.vision.calibration import load_calibration

        data = read_yaml(calibration)
        if load_calibration(data, str(calibration))[1] is not None:
            return tuple((float(data["region"][k][0]), float(data["region"][k][1])) for k in ("x_m", "y_m"))
    if scene is not None:
        from lofi.stages.scenes import load_scene

        width, depth = load_scene(scene).region.size_m
        return (0.0, float(width)), (0.0, float(depth))
    return None


def check_point(
    at_m: tuple[float, float], bounds: tuple[tuple[float, float], ...] | None, source: str
) -> None:
    """Refuse a surveyed point outside the floor region (m, region frame)."""
    if bounds is None:
        return
    (x_lo, x_hi), (y_lo, y_hi) = bounds
    x, y = at_m
    if not (x_lo <= x <= x_hi and y_lo <= y <= y_hi):
        raise ValueError(
            f"--at {x:g},{y:g}: the point lies outside the floor region of {source} "
            f"(x {x_lo:g}..{x_hi:g} m, y {y_lo:g}..{y_hi:g} m)"
        )


# -- the recording -----------------------------------------------------------------------------------


class LossMeter:
    """Packets lost so far from device-time gaps (paper eq. 4) at the nominal rate, given or estimated."""

    def __init__(self, rate_hz: float | None) -> None:
        self.rate_hz = rate_hz
        self.recent: deque[float] = deque(maxlen=1000)  # unwrapped device times (s) for the rate estimate
        self.last_us: int | None = None
        self.t_s = 0.0
        self.lost = 0

    def add(self, device_us: np.ndarray) -> None:
        """Count the packets missing before each of ``device_us`` (32-bit us counter)."""
        if len(device_us) == 0:
            return
        ticks = np.asarray(device_us, dtype=np.int64)
        previous = ticks[0] if self.last_us is None else self.last_us
        steps = np.diff(np.concatenate(([previous], ticks))) % _WRAP_US
        steps[steps > _WRAP_US // 2] = 0  # a step back (reboot): nothing known to be lost
        times = self.t_s + np.cumsum(steps) / 1e6
        self.recent.extend(times.tolist())
        rate = self.rate_hz or estimate_rate_hz(np.asarray(self.recent))
        if math.isfinite(rate):
            self.lost += int(missing_per_gap(np.concatenate(([self.t_s], times)), rate).sum())
        self.last_us, self.t_s = int(ticks[-1]), float(times[-1])


class SessionFiles:
    """The session's open files, written as rows arrive and flushed by :meth:`flush`."""

    def __init__(self, out: Path, frame_size: tuple[int, int] | None, fps: float) -> None:
        self.csi = _open_new(out / SESSION_CSI, ESP_RADAR_HEADER + "\n")
        self.serial_log = _open_new(out / SERIAL_LOG, "")
        self.frames_csv = (
            _open_new(out / SESSION_FRAMES, ",".join(FRAMES_COLUMNS) + "\n") if frame_size else None
        )
        self.video = VideoWriter(out / SESSION_VIDEO, fps, frame_size) if frame_size else None
        self._frame_rows: list[bytes] = []

    def add_frame(self, image: np.ndarray, t_host: float) -> None:
        """Encode one frame; its ``frames.csv`` row is written with the next flush."""
        assert self.video is not None
        self.video.write(image)
        self._frame_rows.append(f"{self.video.frames - 1},{t_host:.6f}\n".encode())

    def add_lines(self, converted: ConvertedLines) -> None:
        """Write converted CSI rows and serial.log lines (whole lines, one write each)."""
        if converted.csv:
            self.csi.write(converted.csv)
        if converted.other:
            self.serial_log.write(b"".join(converted.other))

    def flush(self) -> None:
        """Write the frame rows of the encoded frames and hand every file's bytes to the system."""
        if self.frames_csv is not None and self._frame_rows:
            self.frames_csv.write(b"".join(self._frame_rows))
            self._frame_rows = []
        for handle in (self.csi, self.serial_log, self.frames_csv):
            if handle is not None:
                handle.flush()

    def close(self) -> None:
        """Flush, finish the video (its index is written here) and close every file."""
        self.flush()
        if self.video is not None:
            self.video.close()
        for handle in (self.csi, self.serial_log, self.frames_csv):
            if handle is not None:
                os.fsync(handle.fileno())
                handle.close()


def _open_new(path: Path, header: str) -> IO[bytes]:
    handle = open(path, "wb", buffering=0)  # noqa: SIM115 (open while recording) unbuffered: every write is one whole batch of lines
    if header:
        handle.write(header.encode())
    return handle


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, why: list[str]) -> Iterator[None]:
    """SIGINT and SIGTERM end the recording cleanly (in the main thread only; elsewhere: no handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        why.append(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class StatusLine:
    """Once a second on stderr: CSI rate (Hz), loss (%), camera fps, frames dropped, elapsed time."""

    def __init__(self, enabled: bool, stream: IO[str] = sys.stderr) -> None:
        self.enabled, self.stream = enabled, stream
        self.tty = enabled and stream.isatty()
        self.last = (0.0, 0, 0)  # time, rows, frames

    def show(self, elapsed_s: float, stats: RecordStats) -> None:
        t0, rows0, frames0 = self.last
        dt = max(elapsed_s - t0, 1e-9)
        self.last = (elapsed_s, stats.csi_rows, stats.frames)
        if not self.enabled:
            return
        loss = "n/a" if math.isnan(stats.loss_pct) else f"{stats.loss_pct:.1f} %"
        text = (
            f"rec {elapsed_s:7.1f} s | CSI {(stats.csi_rows - rows0) / dt:6.1f} Hz, {stats.csi_rows:,} rows, "
            f"loss {loss} | camera {(stats.frames - frames0) / dt:5.1f} fps, dropped {stats.frames_dropped} "
            f"| serial.log {stats.serial_log_lines}"
        )
        self.stream.write(("\r" + text + "\x1b[K") if self.tty else text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")


def record_session(options: RecordOptions, status: bool = True) -> RecordStats:
    """Record one session into ``options.out_dir``; returns its counts.

    Every check (output folder, surveyed point, calibration, scene, serial port, camera, traffic
    target) runs before anything is written; each failure is an ``OSError`` or ``ValueError``
    naming the option or file and the reason.
    """
    out = Path(options.out_dir)
    session_id = check_name(out.resolve().name, f"{out}: session id (the folder's name)")
    check_out_dir(out, options.force)
    bounds = region_bounds(options.scene, options.calibration)
    if options.at_m is not None:
        source = str(options.calibration) if options.calibration is not None else f"scene {options.scene}"
        check_point(options.at_m, bounds, source)
    if options.ping is not None:
        check_target(options.ping.target)
    if options.camera is not None:
        camera_source_of(options.camera)
    port = open_serial(options.serial_port, options.baud)
    camera = None
    try:
        if options.camera is not None:
            camera = open_camera(options.camera)
        return _record(options, session_id, out, port, camera, status)
    finally:
        if camera is not None:
            camera[0].release()


def _record(options: RecordOptions, session_id: str, out: Path, port, camera, status: bool) -> RecordStats:
    out.mkdir(parents=True, exist_ok=True)
    for name in SESSION_FILES:  # --force: the old session's files go, other files stay
        (out / name).unlink(missing_ok=True)
    if options.calibration is not None:
        shutil.copyfile(options.calibration, out / SESSION_CALIBRATION)
    clock, stop, why = HostClock(), threading.Event(), []
    capture, fps, size = camera if camera is not None else (None, 0.0, None)
    stats = RecordStats()
    start = clock.now()
    _write_meta(out, options, session_id, start, fps, stats, "recording")
    files = SessionFiles(out, size, fps or FALLBACK_FPS)
    serial_source = SerialSource(port, clock, stop)
    camera_source = None
    if capture is not None:
        paced = is_file_source(camera_source_of(options.camera or ""))
        camera_source = CameraSource(capture, fps or FALLBACK_FPS, paced, clock, stop)
    pinger, icmp = _start_traffic(options.ping, stop)
    meter = LossMeter(options.csi_rate_hz or (options.ping.rate_hz if options.ping else None))
    run = _Recording(clock, start, files, serial_source, camera_source, SerialCsiConverter(), meter, stats)
    line = StatusLine(status)
    try:
        with _stop_on_signals(stop, why):
            serial_source.start()
            if camera_source is not None:
                camera_source.start()
            run.loop(options.duration_s, stop, line)
    finally:
        stop.set()
        for thread in (serial_source, camera_source, pinger):
            if thread is not None and thread.is_alive():
                thread.join(timeout=2.0)
        if icmp is not None:
            icmp.close()
        run.drain()
        files.close()
        line.end()
        stats.duration_s = clock.now() - start
        stats.pings_sent = pinger.sent if pinger is not None else 0
        stats.stopped_by = _stopped_by(why, serial_source, stats.stopped_by)
        stats.camera_ended = camera_source is not None and camera_source.ended
        _write_meta(out, options, session_id, start, fps, stats, "complete")
    return stats


def _start_traffic(
    ping: PingOptions | None, stop: threading.Event
) -> tuple[UdpPinger | None, IcmpPinger | None]:
    if ping is None:
        return None, None
    if ping.method == "icmp":
        return None, IcmpPinger(ping.target, ping.rate_hz)
    pinger = UdpPinger(ping.target, ping.port, ping.rate_hz, stop)
    pinger.start()
    return pinger, None


def _stopped_by(why: list[str], serial_source: SerialSource, default: str) -> str:
    if why:
        return why[0]
    if serial_source.error:
        return f"serial error: {serial_source.error}"
    return default


@dataclass
class _Recording:
    """The running recording: sources, converter, open files, counts."""

    clock: HostClock
    start: float
    files: SessionFiles
    serial: SerialSource
    camera: CameraSource | None
    converter: SerialCsiConverter
    meter: LossMeter
    stats: RecordStats

    def loop(self, duration_s: float | None, stop: threading.Event, line: StatusLine) -> None:
        """Encode frames as they come; once a second convert the serial lines, flush, show the status."""
        next_flush = time.monotonic() + FLUSH_S
        while not stop.is_set():
            if duration_s is not None and self.clock.now() - self.start >= duration_s:
                break
            if self.serial.error or not self.serial.is_alive():
                break
            self.encode_waiting(timeout_s=0.05)
            if time.monotonic() >= next_flush:
                next_flush += FLUSH_S
                self.convert()
                self.files.flush()
                line.show(self.clock.now() - self.start, self.stats)

    def encode_waiting(self, timeout_s: float) -> None:
        """Encode every frame waiting in the camera's queue (waiting up to ``timeout_s`` for the first)."""
        if self.camera is None:
            time.sleep(timeout_s)
            return
        with contextlib.suppress(queue.Empty):
            frame = self.camera.frames.get(timeout=timeout_s)
            self.files.add_frame(frame.image, frame.t_host)
            while True:
                frame = self.camera.frames.get_nowait()
                self.files.add_frame(frame.image, frame.t_host)

    def convert(self) -> None:
        """Convert the serial lines read so far; write their rows and serial.log lines; count."""
        converted = self.converter.convert(self.serial.take())
        self.files.add_lines(converted)
        self.meter.add(converted.device_us)
        stats = self.stats
        stats.csi_rows += converted.rows
        stats.serial_log_lines += len(converted.other)
        stats.lost_packets = self.meter.lost
        stats.layout = converted.layout or stats.layout
        if self.files.video is not None:
            stats.frames = self.files.video.frames
        if self.camera is not None:
            stats.frames_dropped = self.camera.dropped

    def drain(self) -> None:
        """After the sources stopped: encode the queued frames, convert the last lines."""
        if self.camera is not None:
            self.encode_waiting(timeout_s=0.0)
        self.convert()


def _write_meta(
    out: Path,
    options: RecordOptions,
    session_id: str,
    start: float,
    fps: float,
    stats: RecordStats,
    state: str,
) -> None:
    """``session.yaml`` (DESIGN §5): written when the recording starts and again when it ends."""
    room, scene_file = _room(options.scene)
    record: dict = {
        "id": session_id,
        "kind": "real",
        "subjects": list(options.subjects),
        "room": room,
        "scene_file": scene_file,
        "camera_view": None,
        "mode": "survey" if options.at_m is not None else "walk",
        "csi_rate_hz": options.csi_rate_hz or (options.ping.rate_hz if options.ping else None),
        "camera_rate_hz": round(fps, 3) if fps else None,
        "csv_layout": "esp-radar",
    }
    if options.at_m is not None:
        record["position_m"] = [float(options.at_m[0]), float(options.at_m[1])]
    record |= {
        "host_start": datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "status": state,
        "duration_s": round(stats.duration_s, 3),
        "source": _source(options),
        "stats": _stats_record(stats),
        "recorder": f"lofi {__version__}",
        "written_by": WRITTEN_BY,
        "notes": "host times: one monotonic host clock for CSI rows and frames, mapped once to wall time",
    }
    write_yaml(out / SESSION_META, record)


def _room(scene: str | None) -> tuple[str | None, str | None]:
    if scene is None:
        return None, None
    from lofi.stages.scenes import load_scene

    return load_scene(scene).name, scene


def _source(options: RecordOptions) -> dict:
    ping = options.ping
    return {
        "serial_port": options.serial_port,
        "baud": options.baud,
        "camera": options.camera,
        "traffic": (
            f"host {ping.method} to {ping.target}"
            + (f":{ping.port}" if ping.method == "udp" else "")
            + f" at {ping.rate_hz:g} Hz"
            if ping
            else "generated by the ESP32 firmware"
        ),
    }


def _stats_record(stats: RecordStats) -> dict:
    return {
        "csi_rows": stats.csi_rows,
        "lost_packets": stats.lost_packets,
        "loss_pct": None if math.isnan(stats.loss_pct) else round(stats.loss_pct, 3),
        "frames": stats.frames,
        "frames_dropped": stats.frames_dropped,
        "serial_log_lines": stats.serial_log_lines,
        "pings_sent": stats.pings_sent,
        "firmware_layout": stats.layout,
        "stopped_by": stats.stopped_by,
        "camera_stream_ended": stats.camera_ended,
    }
