"""The devices ``lofi record`` reads and drives: the ESP32's serial port, a camera, a traffic generator.

Each source runs in its own thread and stamps what it reads with one :class:`HostClock`
(a monotonic clock mapped once to wall time), so CSI rows and camera frames share one
time base even when the system clock is stepped during a recording.
"""

from __future__ import annotations

import ipaddress
import queue
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lofi.io.serial_lines import StampedLine
from lofi.stages.record_choices import (  # noqa: F401  (re-exported: the record stage's settings)
    DEFAULT_BAUD,
    DEFAULT_PING_HZ,
    DEFAULT_PING_METHOD,
    DEFAULT_UDP_PORT,
    PING_METHODS,
)

#: Longest wait for a camera (or a stream URL) to open and deliver its first frame (s).
CAMERA_OPEN_TIMEOUT_S = 1.0
#: Frames kept waiting for the encoder before new ones are dropped (s of video).
FRAME_QUEUE_S = 2.0


class DeviceError(OSError):
    """A serial port, camera or traffic target cannot be used."""


class HostClock:
    """Host time in s since 1970: ``time.monotonic`` mapped once to wall time at start."""

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Host time now (s since 1970), monotonic."""
        return self._wall0 + (time.monotonic() - self._mono0)


# -- serial ------------------------------------------------------------------------------------


def open_serial(port: str, baud: int):  # -> serial.Serial
    """Open ``port`` at ``baud`` for exclusive use, or a :class:`DeviceError` naming the port and why."""
    import serial

    try:
        return serial.Serial(port, baud, timeout=0.1, exclusive=True)
    except serial.SerialException as err:
        text = str(err)
        if "exclusively lock" in text:
            why = "the port is busy (another program holds it open)"
        elif "No such file" in text or ("could not open port" in text and "Errno 2" in text):
            why = "no such serial port (is the board plugged in? `ls /dev/tty*` lists ports)"
        else:
            why = text
        raise DeviceError(f"--serial {port}: cannot open the serial port: {why}") from err
    except (ValueError, OSError) as err:
        raise DeviceError(f"--serial {port}: cannot open the serial port: {err}") from err


class SerialSource(threading.Thread):
    """Reads lines from an open serial port; each line is stamped when its last byte arrived."""

    def __init__(self, port, clock: HostClock, stop: threading.Event) -> None:
        super().__init__(name="lofi-serial", daemon=True)
        self.port, self.clock, self.stop = port, clock, stop
        self._lines: list[StampedLine] = []
        self._lock = threading.Lock()
        self.error: str | None = None
        self.bytes_read = 0

    def run(self) -> None:
        pending = b""
        try:
            while not self.stop.is_set():
                chunk = self.port.read(max(1, self.port.in_waiting))
                if not chunk:
                    continue
                t_host = self.clock.now()
                self.bytes_read += len(chunk)
                *complete, pending = (pending + chunk).split(b"\n")
                if complete:
                    with self._lock:
                        self._lines.extend(StampedLine(t_host, text.rstrip(b"\r")) for text in complete)
        except Exception as err:  # an unplugged board: reported, the recording stops cleanly
            self.error = f"serial port {self.port.port}: {err}"
        finally:
            self.port.close()

    def take(self) -> list[StampedLine]:
        """The lines read since the last call."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines


# -- camera ------------------------------------------------------------------------------------


@dataclass
class Frame:
    """One camera image and its host time (s since 1970)."""

    t_host: float
    image: np.ndarray


def camera_source_of(text: str) -> int | str:
    """An OpenCV VideoCapture source: a device index, a video file or a stream URL."""
    if text.isdigit():
        return int(text)
    if "://" in text or Path(text).is_file():
        return text
    raise DeviceError(f"--camera {text}: not a camera index (0, 1, ...), an existing video file or a URL")


def open_camera(text: str):  # -> tuple[cv2.VideoCapture, float, tuple[int, int]]
    """Open the camera ``text`` and read one frame; returns (capture, nominal fps or 0, (width, height)).

    A video file is rewound after the probe so that its first frame is recorded too.
    """
    import cv2

    source = camera_source_of(text)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(CAMERA_OPEN_TIMEOUT_S * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(CAMERA_OPEN_TIMEOUT_S * 1000)]  # fmt: skip
    capture = cv2.VideoCapture(source, cv2.CAP_ANY, params)
    if not capture.isOpened():
        raise DeviceError(f"--camera {text}: OpenCV cannot open this camera")
    ok, image = capture.read()
    if not ok or image is None:
        capture.release()
        raise DeviceError(f"--camera {text}: the camera opened but delivered no frame")
    if is_file_source(source):
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return capture, fps if np.isfinite(fps) and 0 < fps <= 1000 else 0.0, (image.shape[1], image.shape[0])


def is_file_source(source: int | str) -> bool:
    """True for a video file (played back at its frame rate, as a live camera would deliver it)."""
    return isinstance(source, str) and "://" not in source


class CameraSource(threading.Thread):
    """Grabs frames, stamps each as it is grabbed and queues it for the encoder.

    A full queue (the encoder falls behind) drops the frame and counts it; so do gaps of
    more than 1.5 frame periods between grabs (frames the camera or its driver lost).
    A video file is paced at ``fps``; its end ends the stream (``ended``). Once started, the thread
    owns the capture and releases it when it ends; no other thread may touch it (OpenCV captures
    are not thread-safe).
    """

    def __init__(self, capture, fps: float, paced: bool, clock: HostClock, stop: threading.Event) -> None:
        super().__init__(name="lofi-camera", daemon=True)
        self.capture, self.fps, self.paced, self.clock, self.stop = capture, fps, paced, clock, stop
        self.frames: queue.Queue[Frame] = queue.Queue(maxsize=max(2, int(FRAME_QUEUE_S * (fps or 30))))
        self.grabbed = 0
        self.dropped = 0
        self.ended = False

    def run(self) -> None:
        start, previous = time.monotonic(), None
        try:
            while not self.stop.is_set():
                if self.paced and self.fps:
                    time.sleep(max(0.0, start + self.grabbed / self.fps - time.monotonic()))
                if not self.capture.grab():
                    self.ended = True
                    return
                t_host = self.clock.now()
                ok, image = self.capture.retrieve()
                if not ok or image is None:
                    self.dropped += 1
                    continue
                self.grabbed += 1
                if previous is not None and self.fps and t_host - previous > 1.5 / self.fps:
                    self.dropped += round((t_host - previous) * self.fps) - 1
                previous = t_host
                try:
                    self.frames.put_nowait(Frame(t_host, image))
                except queue.Full:
                    self.dropped += 1
        finally:
            self.capture.release()


# -- traffic -----------------------------------------------------------------------------------

#: How long the system ``ping`` must keep running at start to count as started (s).
PING_PROBE_S = 0.5
#: Longest wait for ``ping`` to end after SIGTERM before it is killed (s).
PING_STOP_S = 2.0


def check_target(target: str) -> str:
    """``target`` as an IPv4 or IPv6 address, or a :class:`DeviceError`."""
    try:
        return str(ipaddress.ip_address(target))
    except ValueError as err:
        raise DeviceError(
            f"--ping {target}: not an IP address (give the router's address, e.g. 192.168.1.1)"
        ) from err


class UdpPinger(threading.Thread):
    """Sends one small UDP packet to (target, port) every 1/rate_hz s, catching up after a stall (not
    by bursts: a stall longer than 1 s restarts the schedule).

    The first packet is sent when the pinger is made (a probe: an address the host cannot send to
    is a :class:`DeviceError` before the recording starts). The thread closes the socket when it
    ends; :meth:`close` closes it for a pinger whose thread never started.
    """

    def __init__(self, target: str, port: int, rate_hz: float, stop: threading.Event) -> None:
        super().__init__(name="lofi-ping", daemon=True)
        self.address, self.rate_hz, self.stop = (target, port), rate_hz, stop
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        where = f"--ping {target} --ping-port {port}"
        try:
            self.socket = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as err:
            raise DeviceError(f"{where}: cannot open a UDP socket: {err}") from err
        try:
            self.socket.sendto(b"lofi", self.address)
        except OSError as err:
            self.socket.close()
            raise DeviceError(f"{where}: cannot send UDP packets there: {err}") from err
        self.sent = 1
        self.errors = 0

    def run(self) -> None:
        period, due = 1.0 / self.rate_hz, time.monotonic()
        try:
            while not self.stop.is_set():
                due += period
                wait = due - time.monotonic()
                if wait < -1.0:
                    due = time.monotonic()
                elif wait > 0:
                    self.stop.wait(wait)
                    if self.stop.is_set():
                        break
                try:
                    self.socket.sendto(b"lofi", self.address)
                    self.sent += 1
                except OSError:
                    self.errors += 1
        finally:
            self.socket.close()

    def close(self) -> None:
        """Close the socket of a pinger whose thread never started (a started thread closes it)."""
        if self.ident is None:
            self.socket.close()


class IcmpPinger:
    """The system ``ping`` at an interval of 1/rate_hz s (intervals under 0.2 s may need root).

    ``ping`` must still run :data:`PING_PROBE_S` after it started, else a :class:`DeviceError`
    with its message. Its stderr is read line by line as it comes, by a thread (a pipe that nobody
    reads fills up and blocks ``ping``); :meth:`take` hands the host-stamped lines on, for
    ``serial.log``.
    """

    def __init__(self, target: str, rate_hz: float, clock: HostClock) -> None:
        program = shutil.which("ping")
        if program is None:
            raise DeviceError("--ping-method icmp: no `ping` program on this computer; use --ping-method udp")
        self.clock = clock
        self.command = [program, "-q", "-i", f"{1.0 / rate_hz:g}", target]
        self._lines: list[StampedLine] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as err:
            raise DeviceError(f"--ping {target}: cannot run `{' '.join(self.command)}`: {err}") from err
        self._reader = threading.Thread(target=self._read_stderr, name="lofi-ping-stderr", daemon=True)
        self._reader.start()
        try:
            code = self.process.wait(PING_PROBE_S)
        except subprocess.TimeoutExpired:
            return  # still running: pinging
        except BaseException:  # Ctrl-C during the probe: no `ping` left behind
            self.close()
            raise
        self._reader.join(timeout=1.0)
        message = "; ".join(line.text.decode(errors="replace").strip() for line in self.take())
        raise DeviceError(
            f"--ping {target}: `{' '.join(self.command)}` stopped at once (exit {code}): "
            f"{message or 'no message'}"
        )

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        with stream:
            for raw in iter(stream.readline, b""):
                line = StampedLine(self.clock.now(), raw.rstrip(b"\r\n"))
                with self._lock:
                    self._lines.append(line)

    def take(self) -> list[StampedLine]:
        """The lines ``ping`` wrote to stderr since the last call."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def close(self) -> int | None:
        """Stop ``ping`` (SIGTERM, then SIGKILL after :data:`PING_STOP_S`) and read the rest of its
        stderr. Returns ``ping``'s exit status when it had ended on its own before, else None."""
        if self._closed:
            return None
        self._closed = True
        ended = self.process.poll()
        if ended is None:
            self.process.terminate()
            try:
                self.process.wait(PING_STOP_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=1.0)
        return ended
