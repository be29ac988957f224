"""Stage ``record``: one raw session from an ESP32 on a serial port and a camera (paper Fig. 1, step 1).

Both streams are stamped with one host clock (:class:`~lofi.stages.record_devices.HostClock`)
and written as they arrive into the session folder of DESIGN §5: ``csi.csv`` (esp-radar
layout, host ``timestamp`` filled in), ``video.mp4`` + ``frames.csv``, ``session.yaml``,
``calibration.yaml`` (a copy, when given) and ``serial.log`` (every serial line that is not
a CSI row; also the system ``ping``'s messages and the recorder's own notes). Once a second
``csi.csv``, ``frames.csv`` and ``serial.log`` are written and fsynced, so a crash or a power
loss loses about the last second: they hold whole lines (a row cut by a SIGKILL in the middle
of a write is the reader's ``truncated_row``). After a SIGKILL or a power loss ``video.mp4``
has no index and cannot be played; its ``frames.csv`` stays valid and the CSI can still be used
on its own. ``session.yaml`` says ``status: recording`` until the recording ends, then
``complete`` when it ended cleanly (duration reached, Ctrl-C, SIGTERM, the serial port gone) or
``failed`` when an error stopped it (``stats.stopped_by: "error: ..."``; the files are still
closed, the video finished, and the error is raised). A camera stream that ends (a video file
played as the camera, an unplugged webcam) ends the video, not the recording.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from lofi import __version__
from lofi.csi.loss import estimate_rate_hz, missing_per_gap
from lofi.io.atomic import with_path
from lofi.io.esp32.layouts import ESP_RADAR_HEADER
from lofi.io.names import check_name
from lofi.io.serial_lines import SERIAL_LOG, ConvertedLines, SerialCsiConverter, serial_log_line
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
    DEFAULT_BAUD,
    DEFAULT_PING_HZ,
    DEFAULT_PING_METHOD,
    DEFAULT_UDP_PORT,
    PING_METHODS,
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
from lofi.vision.calibration import FloorRegion, check_point, load_calibration

WRITTEN_BY = "lofi record"
#: Files a recording writes; a folder holding any of them already holds a session.
SESSION_FILES = (SESSION_META, SESSION_CSI, SESSION_VIDEO, SESSION_FRAMES, SESSION_CALIBRATION, SERIAL_LOG)
#: Time between two flushes (write + fsync) of the session's files (s): about what a crash can lose.
FLUSH_S = 1.0
#: Frame rate written into video.mp4 when the camera does not report one (frames/s).
FALLBACK_FPS = 30.0
_WRAP_US = 1 << 32


@dataclass(frozen=True)
class PingOptions:
    """Host-generated traffic: ``method`` udp (to ``port``) or icmp (system ``ping``) at ``rate_hz`` (Hz)."""

    target: str
    rate_hz: float = DEFAULT_PING_HZ
    method: str = DEFAULT_PING_METHOD
    port: int = DEFAULT_UDP_PORT


@dataclass(frozen=True)
class RecordOptions:
    """What to record and where. ``baud``: bit/s; ``camera`` None records without video (a surveyed
    point at ``at_m``, region-frame metres); ``duration_s`` (s) None records until Ctrl-C or SIGTERM."""

    out_dir: Path
    serial_port: str
    baud: int = DEFAULT_BAUD
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


def recording_region(scene: str | None, calibration: Path | None) -> FloorRegion:
    """The floor region (w, d in m, region frame: origin at its corner) that ``--at`` is checked
    against: the one ``lofi align`` finds in the session (:func:`lofi.stages.scenes.floor_region`:
    the calibration's ``region``, else the scene's, else the default lab region). ``--calibration``
    (anchors and region) and ``--scene`` are validated here, before anything is written."""
    from lofi.stages.scenes import floor_region, load_scene

    if calibration is not None:
        load_calibration(read_yaml(calibration), str(calibration))
    if scene is not None:
        load_scene(scene)
    return floor_region(calibration, scene)


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
    """The session's open files, written as rows arrive; :meth:`flush` hands them to the disk.

    The files are unbuffered (every write is one whole batch of lines); :meth:`flush` writes the
    waiting ``frames.csv`` rows and fsyncs ``csi.csv``, ``serial.log`` and ``frames.csv``, so what
    was written survives a crash or power loss. :meth:`close` finishes every file even when one
    of them fails.
    """

    def __init__(self, out: Path, frame_size: tuple[int, int] | None, fps: float) -> None:
        self._stack = contextlib.ExitStack()  # closes what was opened, each file even if another fails
        with self._stack:
            self.csi = self._open(out / SESSION_CSI, ESP_RADAR_HEADER + "\n")
            self.serial_log = self._open(out / SERIAL_LOG, "")
            self.frames_csv = (
                self._open(out / SESSION_FRAMES, ",".join(FRAMES_COLUMNS) + "\n") if frame_size else None
            )
            self.video = VideoWriter(out / SESSION_VIDEO, fps, frame_size) if frame_size else None
            if self.video is not None:
                self._stack.callback(_finish_video, self.video)
            self._stack = self._stack.pop_all()  # all open: closed by close()
        self._frame_rows: list[bytes] = []

    def _open(self, path: Path, header: str) -> IO[bytes]:
        handle = open(path, "wb", buffering=0)  # noqa: SIM115 (open while recording) unbuffered: every write is one whole batch of lines
        self._stack.callback(_fsync_close, handle)
        _write_all(handle, header.encode())
        return handle

    def add_frame(self, image: np.ndarray, t_host: float) -> None:
        """Encode one frame; its ``frames.csv`` row is written with the next flush."""
        assert self.video is not None
        self.video.write(image)
        self._frame_rows.append(f"{self.video.frames - 1},{t_host:.6f}\n".encode())

    def add_lines(self, converted: ConvertedLines) -> None:
        """Write converted CSI rows and serial.log lines (whole lines, one write each)."""
        if converted.csv:
            _write_all(self.csi, converted.csv)
        if converted.other:
            _write_all(self.serial_log, b"".join(converted.other))

    def note(self, t_host: float, text: str) -> None:
        """One line of the recorder's own in ``serial.log`` (reason ``recorder``)."""
        _write_all(self.serial_log, serial_log_line(t_host, "recorder", text.encode()))

    def flush(self) -> None:
        """Write the frame rows of the encoded frames and fsync every line file (not the video: it has
        no index before :meth:`close` and cannot be played after a crash anyway)."""
        if self.frames_csv is not None and self._frame_rows:
            _write_all(self.frames_csv, b"".join(self._frame_rows))
            self._frame_rows = []
        for handle in (self.csi, self.serial_log, self.frames_csv):
            if handle is not None:
                _fsync(handle)

    def close(self) -> None:
        """Flush, finish the video (its index is written here), fsync and close every file. Each
        file is closed even when the flush or another file fails; the first error is raised."""
        with self._stack:
            self.flush()


def _write_all(handle: IO[bytes], data: bytes) -> None:
    """Write all of ``data`` (an unbuffered write may take part of it: a disk filling up)."""
    view = memoryview(data)
    try:
        while view:
            written = handle.write(view)
            view = view[written or 0 :]
    except OSError as err:
        raise with_path(err, handle.name) from err


def _fsync(handle: IO[bytes]) -> None:
    try:
        os.fsync(handle.fileno())
    except OSError as err:
        raise with_path(err, handle.name) from err


def _fsync_close(handle: IO[bytes]) -> None:
    try:
        _fsync(handle)
    finally:
        handle.close()


def _finish_video(video: VideoWriter) -> None:
    """Write the video's index (OpenCV's release) and fsync the file."""
    video.close()
    if video.path.exists():
        fd = os.open(video.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError as err:
            raise with_path(err, video.path) from err
        finally:
            os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the folder's new file names durable (best effort: not every system opens folders)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, why: list[str]) -> Iterator[None]:
    """SIGINT and SIGTERM end the recording cleanly (in the main thread only; elsewhere: no handlers).

    The handlers stay until the block ends (after the last ``session.yaml`` write): a signal during
    the shutdown is only noted in ``why``, so a second Ctrl-C cannot cut the shutdown short.
    """
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
        """Show the rates since the last call (``elapsed_s``: s since the recording started)."""
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
        """End the status line (a newline after the last one on a terminal)."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


#: Longest wait for each source thread to end after the stop (s); one still running is left to end.
JOIN_S = 2.0


class RecordingError(OSError):
    """A recording stopped by an error that is neither an ``OSError`` nor a ``ValueError``."""


@dataclass
class _Devices:
    """What :func:`record_session` opened, before anything is written. Each source thread releases its
    device when it ends; a device whose thread never started is released by :meth:`release_unstarted`."""

    clock: HostClock
    stop: threading.Event
    port: object
    serial: SerialSource
    camera: CameraSource | None = None
    fps: float = 0.0
    frame_size: tuple[int, int] | None = None
    udp: UdpPinger | None = None
    icmp: IcmpPinger | None = None

    def release_unstarted(self) -> None:
        """Close the devices of the threads that never started; stop ``ping``."""
        self.stop.set()
        with contextlib.ExitStack() as stack:
            if self.serial.ident is None:
                stack.callback(self.port.close)  # type: ignore[attr-defined]
            if self.camera is not None and self.camera.ident is None:
                stack.callback(self.camera.capture.release)
            if self.udp is not None:
                stack.callback(self.udp.close)
            if self.icmp is not None:
                stack.callback(self.icmp.close)


def record_session(options: RecordOptions, status: bool = True) -> RecordStats:
    """Record one session into ``options.out_dir``; returns its counts.

    Every check (output folder, surveyed point, calibration, scene, serial port, camera, traffic
    generator: its socket, or the system ``ping`` running for :data:`PING_PROBE_S`) runs before
    anything is written; each failure is an ``OSError`` or ``ValueError`` naming the option or file
    and the reason. An error during the recording closes the files, marks ``session.yaml``
    ``status: failed`` and is raised (an error other than ``OSError``/``ValueError`` as the cause of
    a :class:`RecordingError`).
    """
    out = Path(options.out_dir)
    session_id = check_name(out.resolve().name, f"{out}: session id (the folder's name)")
    check_out_dir(out, options.force)
    # Arrow (the CSI reader) cancels a read when SIGINT/SIGTERM arrives during it, which would end a
    # Ctrl-C'd recording as failed: here those signals only ask the recording to stop (its handlers).
    import pyarrow

    pyarrow.enable_signal_handlers(False)
    region = recording_region(options.scene, options.calibration)
    if options.at_m is not None:
        check_point(options.at_m, region, "--at")
    calibration = _read_calibration(options.calibration)  # before --force deletes an old copy of it
    if options.ping is not None:
        check_target(options.ping.target)
        if options.ping.method not in PING_METHODS:
            raise ValueError(
                f"--ping-method {options.ping.method}: expected one of {', '.join(PING_METHODS)}"
            )
    if options.camera is not None:
        camera_source_of(options.camera)
    clock, stop = HostClock(), threading.Event()
    port = open_serial(options.serial_port, options.baud)
    devices = _Devices(clock, stop, port, SerialSource(port, clock, stop))
    try:
        if options.camera is not None:
            capture, fps, devices.frame_size = open_camera(options.camera)
            devices.fps = fps
            paced = is_file_source(camera_source_of(options.camera))
            devices.camera = CameraSource(capture, fps or FALLBACK_FPS, paced, clock, stop)
        if options.ping is not None and options.ping.method == "icmp":
            devices.icmp = IcmpPinger(options.ping.target, options.ping.rate_hz, clock)
        elif options.ping is not None:
            devices.udp = UdpPinger(options.ping.target, options.ping.port, options.ping.rate_hz, stop)
        return _record(options, session_id, out, calibration, devices, status)
    finally:
        devices.release_unstarted()


def _read_calibration(path: Path | None) -> bytes | None:
    """The bytes of ``--calibration``, read before the old session's files go."""
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise OSError(f"--calibration {path}: cannot read the file: {err.strerror or err}") from err


def _record(
    options: RecordOptions,
    session_id: str,
    out: Path,
    calibration: bytes | None,
    devices: _Devices,
    status: bool,
) -> RecordStats:
    """Write the session from the opened ``devices`` (see :func:`record_session`)."""
    clock, stop, why, notes = devices.clock, devices.stop, [], []
    stats = RecordStats()
    start = clock.now()
    meter = LossMeter(options.csi_rate_hz or (options.ping.rate_hz if options.ping else None))
    line = StatusLine(status)
    error: BaseException | None = None
    files: SessionFiles | None = None
    run: _Recording | None = None
    with _stop_on_signals(stop, why):
        try:
            out.mkdir(parents=True, exist_ok=True)
            for name in SESSION_FILES:  # --force: the old session's files go, other files stay
                (out / name).unlink(missing_ok=True)
            if calibration is not None:
                (out / SESSION_CALIBRATION).write_bytes(calibration)
            _write_meta(out, options, session_id, start, devices.fps, stats, "recording", notes)
            files = SessionFiles(out, devices.frame_size, devices.fps or FALLBACK_FPS)
            _fsync_dir(out)
            run = _Recording(clock, start, files, devices, SerialCsiConverter(), meter, stats)
            for thread in (devices.serial, devices.camera, devices.udp):
                if thread is not None:
                    thread.start()
            run.loop(options.duration_s, stop, line)
        except BaseException as err:
            error = err
        signals_at_stop = len(why)
        stop.set()
        error = _finish(devices, files, run, line, notes, error)
        stats.duration_s = clock.now() - start
        stats.pings_sent = devices.udp.sent if devices.udp is not None else 0
        stats.camera_ended = devices.camera is not None and devices.camera.ended
        stats.stopped_by = _stopped_by(why[:signals_at_stop], devices.serial, error, stats.stopped_by)
        notes += [
            f"{name} received during the shutdown: noted, the shutdown went on"
            for name in why[signals_at_stop:]
        ]
        try:
            _write_meta(
                out, options, session_id, start, devices.fps, stats, "failed" if error else "complete", notes
            )
            _fsync_dir(out)
        except Exception as err:
            error = error or err
    if isinstance(error, OSError | ValueError | KeyboardInterrupt | SystemExit):
        raise error
    if error is not None:  # anything else (an OpenCV error, a bug): one line for the user, chained
        raise RecordingError(
            f"{out}: the recording stopped on an error ({_one_line(error)}); its files are closed and "
            f"session.yaml says status: failed"
        ) from error
    return stats


def _finish(
    devices: _Devices,
    files: SessionFiles | None,
    run: _Recording | None,
    line: StatusLine,
    notes: list[str],
    error: BaseException | None,
) -> BaseException | None:
    """The shutdown after the stop: join the sources, stop ``ping``, write what is left, close the
    files. Every step runs even when an earlier one fails; returns ``error``, else the first failure
    (later failures become ``notes``)."""

    def step(action: Callable[[], object], what: str) -> object:
        nonlocal error
        try:
            return action()
        except Exception as err:
            if error is None:
                error = err
            else:
                notes.append(f"{what} failed too: {_one_line(err)}")
            return None

    still_running = []
    for thread in (devices.serial, devices.camera, devices.udp):
        if thread is not None and thread.is_alive():
            thread.join(timeout=JOIN_S)
            if thread.is_alive():  # left to end on its own (a daemon); it still owns its device
                still_running.append(
                    f"thread {thread.name} still running {JOIN_S:g} s after the stop; left to end"
                )
    if devices.icmp is not None:
        ended = step(devices.icmp.close, "stopping `ping`")
        if ended is not None:
            still_running.append(
                f"`ping` ended during the recording (exit {ended}); its messages are in serial.log"
            )
    notes += still_running
    if run is not None:
        step(run.drain, "writing the last rows")
    if files is not None:
        now = devices.clock.now()
        for text in still_running:
            step(lambda text=text: files.note(now, text), "a note in serial.log")
            if run is not None:
                run.stats.serial_log_lines += 1
        step(files.close, "closing the files")
    step(line.end, "the status line")
    return error


def _one_line(err: BaseException) -> str:
    """``err`` as one line: its type, and its message when it has one."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _stopped_by(
    why: list[str], serial_source: SerialSource, error: BaseException | None, default: str
) -> str:
    if error is not None:
        return f"error: {_one_line(error)}"
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
    devices: _Devices
    converter: SerialCsiConverter
    meter: LossMeter
    stats: RecordStats

    def loop(self, duration_s: float | None, stop: threading.Event, line: StatusLine) -> None:
        """Encode frames as they come; once a second (:data:`FLUSH_S`) convert the serial lines, write
        and fsync the files and show the status. Encoding gives way to the flush when it is due: frames
        that wait longer stay queued (the camera drops, and counts, what no longer fits)."""
        serial = self.devices.serial
        next_flush = time.monotonic() + FLUSH_S
        while not stop.is_set():
            if duration_s is not None and self.clock.now() - self.start >= duration_s:
                break
            if serial.error or not serial.is_alive():
                break
            self.encode_waiting(timeout_s=0.05, until=next_flush)
            now = time.monotonic()
            if now >= next_flush:
                next_flush = max(next_flush + FLUSH_S, now + FLUSH_S / 10)  # no catch-up burst after a stall
                self.convert()
                self.files.flush()
                line.show(self.clock.now() - self.start, self.stats)

    def encode_waiting(self, timeout_s: float, until: float | None = None) -> None:
        """Encode the frames waiting in the camera's queue, waiting up to ``timeout_s`` (s) for the first
        and stopping at ``until`` (``time.monotonic()`` s; None: when the queue is empty)."""
        camera = self.devices.camera
        if until is not None:
            timeout_s = min(timeout_s, max(0.0, until - time.monotonic()))
        if camera is None:
            time.sleep(timeout_s)
            return
        with contextlib.suppress(queue.Empty):
            frame = camera.frames.get(timeout=timeout_s) if timeout_s > 0 else camera.frames.get_nowait()
            self.files.add_frame(frame.image, frame.t_host)
            while until is None or time.monotonic() < until:
                frame = camera.frames.get_nowait()
                self.files.add_frame(frame.image, frame.t_host)

    def convert(self) -> None:
        """Convert the serial lines read so far; write their rows and serial.log lines (with ``ping``'s
        messages, reason ``ping``); count."""
        converted = self.converter.convert(self.devices.serial.take())
        if self.devices.icmp is not None:
            converted.other += [serial_log_line(m.t_host, "ping", m.text) for m in self.devices.icmp.take()]
        self.files.add_lines(converted)
        self.meter.add(converted.device_us)
        stats = self.stats
        stats.csi_rows += converted.rows
        stats.serial_log_lines += len(converted.other)
        stats.lost_packets = self.meter.lost
        stats.layout = converted.layout or stats.layout
        if self.files.video is not None:
            stats.frames = self.files.video.frames
        if self.devices.camera is not None:
            stats.frames_dropped = self.devices.camera.dropped

    def drain(self) -> None:
        """After the sources stopped: encode the frames queued now, convert the last lines."""
        camera = self.devices.camera
        if camera is not None:
            for _ in range(camera.frames.qsize()):  # bounded: a camera thread left running may add more
                with contextlib.suppress(queue.Empty):
                    frame = camera.frames.get_nowait()
                    self.files.add_frame(frame.image, frame.t_host)
        self.convert()


def _write_meta(
    out: Path,
    options: RecordOptions,
    session_id: str,
    start: float,
    fps: float,
    stats: RecordStats,
    state: str,
    notes: list[str],
) -> None:
    """``session.yaml`` (DESIGN §5): written when the recording starts and again when it ends.

    ``state``: ``recording``, ``complete`` or ``failed``; ``notes``: what went wrong besides (threads
    left running, errors after the first, signals during the shutdown), one line each."""
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
        "warnings": list(notes),
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
