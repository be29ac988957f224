"""``lofi record`` without hardware: a pseudo-terminal replays real ESP32 logs, a video file is the camera.

The replayer writes each log line at its recorded device time (local_timestamp, sped up where
the test says so), with ESP-IDF log lines and prompts in between, into the master side of a
pty; ``lofi record`` reads the slave side as it would read a USB serial port.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lofi.cli import build_parser, main
from lofi.io.esp32.layouts import ESP_RADAR_HEADER
from lofi.io.esp32.reader import read_csi_log
from lofi.io.serial_lines import ConvertedLines, SerialCsiConverter, StampedLine
from lofi.io.session import read_session_meta, read_yaml, write_yaml
from lofi.io.video import VideoFrames, read_frames_csv
from lofi.stages import record
from lofi.stages.record import LossMeter, PingOptions, RecordOptions, SessionFiles, record_session
from lofi.stages.record_devices import (
    DEFAULT_BAUD,
    DEFAULT_PING_HZ,
    DEFAULT_PING_METHOD,
    DEFAULT_UDP_PORT,
    PING_METHODS,
    Frame,
    HostClock,
    UdpPinger,
)
from lofi.stages.track import run_track

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real_csi"
REAL_LOGS = {
    "esp-csi": FIXTURES / "espcsi_test_csv_with_head" / "csi_data_with_head.csv",
    "esp32-csi-tool": FIXTURES / "esp32_csi_tool_example" / "example_csi.csv",
    "csikit-100hz": FIXTURES / "csikit_esp32_100hz_pitraffic" / "example_100hz_pitraffic.csv",
}
GARBAGE = [b"I (1234) wifi: station: 1a:2b:3c:4d:5e:6f join", b"\x1b[6ncsi> ", b"W (99) ping: timeout"]
GARBAGE_EVERY = 40


class Replayer(threading.Thread):
    """Writes a log's lines into a pty at their device times / ``speed``, garbage lines in between;
    starts when ``ready`` exists (the recorder wrote its session.yaml, so the port is open)."""

    def __init__(self, log: Path, ready: Path, speed: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self.slave = slave
        self.lines = log.read_bytes().splitlines()
        self.ready, self.speed = ready, speed
        self.sent: list[float] = []  # host time.time() each CSI-looking line was written
        self.garbage = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(OSError):  # the test closed the pty: the replay ends
            self._replay()

    def _replay(self) -> None:
        while not self.ready.exists():
            if self.stop.wait(0.01):
                return
        column = _device_time_column(self.lines[0])
        start, first_us = time.monotonic(), None
        for i, line in enumerate(self.lines):
            if self.stop.is_set():
                return
            device_us = _field(line, column)
            if device_us is not None:
                first_us = device_us if first_us is None else first_us
                time.sleep(max(0.0, start + (device_us - first_us) / 1e6 / self.speed - time.monotonic()))
            os.write(self.master, line + b"\r\n")
            if line.startswith(b"CSI_DATA"):
                self.sent.append(time.time())
            if i % GARBAGE_EVERY == 1:
                os.write(self.master, GARBAGE[self.garbage % len(GARBAGE)] + b"\r\n")
                self.garbage += 1

    def close(self) -> None:
        self.stop.set()
        os.close(self.master)
        os.close(self.slave)


def _device_time_column(first_line: bytes) -> int:
    """Index of local_timestamp: from the header, else 18 (esp-csi and ESP32-CSI-Tool rows)."""
    if first_line.startswith(b"type,"):
        return first_line.split(b",").index(b"local_timestamp")
    return 18


def _field(line: bytes, column: int) -> int | None:
    fields = line.split(b",")
    try:
        return int(fields[column])
    except (IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A 5-s simulated session (csi.csv in the esp-radar layout, video.mp4, calibration.yaml)."""
    out = tmp_path_factory.mktemp("sim") / "sim"
    assert main(["simulate", "--seconds", "5", "--subject", "S1", "--out", str(out), "--quiet"]) == 0
    return out


def _record(tmp_path: Path, log: Path, *extra: str, speed: float = 1.0, seconds: float = 3.0):
    out = tmp_path / "session"
    replay = Replayer(log, out / "session.yaml", speed)
    replay.start()
    try:
        code = main(
            ["record", str(out), "--serial", replay.port, "--duration", str(seconds), "--quiet", *extra]
        )
        replay.join(timeout=5)
    finally:
        replay.close()
    assert code == 0
    return out, replay


def _same_rows(recorded: Path, source: Path) -> None:
    """Every CSI row of ``source`` is in ``recorded`` once, in order, with the same device time and CSI."""
    got, want = read_csi_log(recorded), read_csi_log(source)
    assert got.layout == "esp-radar"
    assert got.report.skipped == 0, got.report.skipped_by_reason
    assert len(got) == len(want)
    np.testing.assert_array_equal(got.table["local_timestamp"], want.table["local_timestamp"])
    np.testing.assert_array_equal(got.table["rssi"], want.table["rssi"])
    np.testing.assert_allclose(got.csi, want.csi, equal_nan=True)


# -- the converter on its own (fast) ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL_LOGS))
def test_converter_keeps_every_row_and_logs_every_other_line(name: str) -> None:
    lines = REAL_LOGS[name].read_bytes().splitlines()
    stamped = [StampedLine(1.7e9 + 0.01 * i, text) for i, text in enumerate(lines)]
    stamped[3:3] = [StampedLine(1.7e9, text) for text in GARBAGE]
    converter = SerialCsiConverter()
    halves = [
        converter.convert(stamped[: len(stamped) // 2]),
        converter.convert(stamped[len(stamped) // 2 :]),
    ]
    want = read_csi_log(REAL_LOGS[name])
    rows = sum(h.rows for h in halves)
    assert rows == len(want)
    others = [line for h in halves for line in h.other]
    assert rows + len(others) == sum(1 for s in stamped if s.text.strip())  # each line: a row or logged
    assert sum(b"\tnot_csi\t" in line for line in others) >= len(GARBAGE)
    csi_lines = sum(1 for s in stamped if s.text.startswith(b"CSI_DATA"))
    assert sum(b"\tbad_csi:" in line for line in others) == csi_lines - len(want)


def test_loss_meter_counts_device_time_gaps_across_batches_and_wraps() -> None:
    ticks = (np.arange(0, 200) * 10_000 + (1 << 32) - 500_000) % (1 << 32)  # 100 Hz, wraps at row 50
    keep = np.ones(200, bool)
    keep[[10, 11, 60, 120, 121, 122]] = False
    meter = LossMeter(None)
    for part in np.array_split(ticks[keep], 5):
        meter.add(part)
    assert meter.lost == 6


def test_udp_pinger_sends_at_the_rate_to_localhost() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.2)
        stop = threading.Event()
        pinger = UdpPinger("127.0.0.1", sink.getsockname()[1], 100.0, stop)
        pinger.start()
        time.sleep(1.0)
        stop.set()
        pinger.join()
        received = 0
        try:
            while sink.recv(64):
                received += 1
        except TimeoutError:
            pass
    assert 70 <= pinger.sent <= 110
    assert received == pinger.sent


def test_flush_writes_the_frame_rows_and_fsyncs_every_line_file(tmp_path: Path, monkeypatch) -> None:
    files = SessionFiles(tmp_path, (64, 48), 10.0)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    files.add_lines(ConvertedLines(csv=b"row\n", other=[b"log\n"]))
    files.add_frame(np.zeros((48, 64, 3), np.uint8), 1.25)
    files.flush()
    assert set(synced) == {files.csi.fileno(), files.serial_log.fileno(), files.frames_csv.fileno()}
    assert (tmp_path / "frames.csv").read_text().splitlines() == ["frame,t_host", "0,1.250000"]
    files.close()
    assert files.csi.closed and files.serial_log.closed and files.frames_csv.closed
    assert len(VideoFrames(tmp_path / "video.mp4", expected=1)) == 1  # the index was written


def test_encoding_gives_way_to_the_flush() -> None:
    """A backlog of frames slower to encode than a second is encoded up to the flush time, no further."""
    waiting: queue.Queue = queue.Queue()
    for i in range(200):
        waiting.put(Frame(float(i), np.zeros((2, 2, 3), np.uint8)))
    encoded = []
    files = SimpleNamespace(add_frame=lambda image, t_host: (time.sleep(0.01), encoded.append(t_host)))
    devices = SimpleNamespace(camera=SimpleNamespace(frames=waiting))
    run = record._Recording(HostClock(), 0.0, files, devices, None, None, None)  # type: ignore[arg-type]
    start = time.monotonic()
    run.encode_waiting(timeout_s=0.05, until=start + 0.2)
    took = time.monotonic() - start
    assert took < 0.5  # 200 frames would take 2 s
    assert 5 <= len(encoded) < 100 and waiting.qsize() == 200 - len(encoded)
    assert encoded == [float(i) for i in range(len(encoded))]  # in order; the rest waits in the queue


def test_cli_defaults_are_the_recorders_constants() -> None:
    """The defaults of `lofi record` and `lofi track` are the constants of the stages, not copies."""
    parser = build_parser()
    args = parser.parse_args(["record", "out", "--serial", "p", "--no-camera"])
    options, ping = RecordOptions(Path("out"), "p"), PingOptions("192.0.2.1")
    assert args.baud == options.baud == DEFAULT_BAUD
    assert (args.rate, args.ping_method, args.ping_port) == (ping.rate_hz, ping.method, ping.port)
    assert (ping.rate_hz, ping.method, ping.port) == (DEFAULT_PING_HZ, DEFAULT_PING_METHOD, DEFAULT_UDP_PORT)
    assert PING_METHODS[0] == DEFAULT_PING_METHOD
    with pytest.raises(SystemExit):
        parser.parse_args(["record", "out", "--serial", "p", "--no-camera", "--ping-method", "tcp"])
    track = parser.parse_args(["track", "--serial", "p", "--run", "r"])
    assert track.baud == inspect.signature(run_track).parameters["baud"].default == DEFAULT_BAUD


# -- short recordings from a silent pseudo-terminal (a second or two each) -------------------------

#: A calibration.yaml whose region is the lab's (1.8 x 4.8 m).
CALIBRATION = {
    "anchors": [
        {"pixel": [100, 400], "floor": [0.0, 0.0]},
        {"pixel": [540, 400], "floor": [1.8, 0.0]},
        {"pixel": [500, 150], "floor": [1.8, 4.8]},
        {"pixel": [140, 150], "floor": [0.0, 4.8]},
    ],
    "region": {"x_m": [0.0, 1.8], "y_m": [0.0, 4.8]},
}


class FakeCapture:
    """Stands in for an OpenCV capture: 64 x 48 frames at about 20 fps. After ``block_after`` frames
    ``grab`` hangs until ``unblock`` is set (a camera driver that stops answering). Records which
    thread released it."""

    def __init__(self, block_after: int | None = None) -> None:
        self.block_after, self.grabs = block_after, 0
        self.unblock = threading.Event()
        self.released_by: list[str] = []

    def grab(self) -> bool:
        self.grabs += 1
        if self.block_after is not None and self.grabs > self.block_after:
            self.unblock.wait(30)
            return False
        time.sleep(0.05)
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.full((48, 64, 3), (self.grabs * 20) % 256, np.uint8)

    def release(self) -> None:
        self.released_by.append(threading.current_thread().name)


def _fake_camera(monkeypatch, capture: FakeCapture) -> None:
    monkeypatch.setattr(record, "open_camera", lambda text: (capture, 20.0, (64, 48)))


def _no_space(path: Path):
    def fail(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    return fail


def test_a_crash_while_writing_marks_the_session_failed_and_closes_every_file(
    tmp_path: Path, port: str, monkeypatch, capsys
) -> None:
    out = tmp_path / "s"
    opened: list[SessionFiles] = []
    real_init = SessionFiles.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(SessionFiles, "__init__", init)
    monkeypatch.setattr(SessionFiles, "add_lines", _no_space(out / "csi.csv"))  # the first flush, the drain
    code = main(["record", str(out), "--serial", port, "--no-camera", "--duration", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and "csi.csv: No space left on device" in err
    meta = read_yaml(out / "session.yaml")
    assert meta["status"] == "failed"
    assert meta["stats"]["stopped_by"].startswith("error: OSError: [Errno 28] No space left on device")
    assert meta["duration_s"] < 4  # stopped at the first flush, not at --duration
    assert any(w.startswith("writing the last rows failed too") for w in meta["warnings"])
    (files,) = opened
    assert files.csi.closed and files.serial_log.closed  # closed although the drain failed
    assert (out / "csi.csv").read_text() == ESP_RADAR_HEADER + "\n"


def test_an_unexpected_error_is_one_line_too(tmp_path: Path, port: str, monkeypatch, capsys) -> None:
    def boom(*_args) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(record.StatusLine, "show", boom)
    out = tmp_path / "s"
    code = main(["record", str(out), "--serial", port, "--no-camera", "--duration", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.strip().count("\n") == 0
    assert f"{out}: the recording stopped on an error (RuntimeError: boom second line)" in err
    meta = read_yaml(out / "session.yaml")
    assert (
        meta["status"] == "failed" and meta["stats"]["stopped_by"] == "error: RuntimeError: boom second line"
    )


def test_a_crash_with_a_camera_still_finishes_the_video(
    tmp_path: Path, port: str, monkeypatch, capsys
) -> None:
    out = tmp_path / "s"
    capture = FakeCapture()
    _fake_camera(monkeypatch, capture)
    monkeypatch.setattr(record.StatusLine, "show", _no_space(out / "csi.csv"))
    code = main(["record", str(out), "--serial", port, "--camera", "0", "--duration", "5", "--quiet"])
    assert code == 2 and "No space left on device" in capsys.readouterr().err
    meta = read_yaml(out / "session.yaml")
    assert meta["status"] == "failed" and meta["stats"]["stopped_by"].startswith("error: OSError")
    frames = read_frames_csv(out / "frames.csv")
    assert len(frames) >= 5  # about a second at 20 fps
    assert len(VideoFrames(out / "video.mp4", expected=len(frames))) == len(frames)  # index written
    assert capture.released_by == ["lofi-camera"]


def test_a_camera_thread_that_hangs_is_left_to_release_its_camera(
    tmp_path: Path, port: str, monkeypatch
) -> None:
    out = tmp_path / "s"
    capture = FakeCapture(block_after=10)
    _fake_camera(monkeypatch, capture)
    monkeypatch.setattr(record, "JOIN_S", 0.2)
    try:
        stats = record_session(RecordOptions(out, port, camera="0", duration_s=1.0), status=False)
        assert capture.released_by == []  # never from the main thread while the camera thread runs
    finally:
        capture.unblock.set()
    meta = read_yaml(out / "session.yaml")
    assert meta["status"] == "complete" and stats.stopped_by == "duration"
    assert any("thread lofi-camera still running" in w for w in meta["warnings"])
    assert "\trecorder\tthread lofi-camera still running" in (out / "serial.log").read_text()
    deadline = time.monotonic() + 5
    while not capture.released_by and time.monotonic() < deadline:
        time.sleep(0.01)
    assert capture.released_by == ["lofi-camera"]
    assert len(VideoFrames(out / "video.mp4", expected=len(read_frames_csv(out / "frames.csv")))) == 10


def test_a_signal_during_the_shutdown_is_noted_and_the_shutdown_goes_on(
    tmp_path: Path, port: str, monkeypatch
) -> None:
    assert threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT)
    real_drain = record._Recording.drain

    def drain_interrupted(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while the last rows are written
        time.sleep(0.1)
        real_drain(self)

    monkeypatch.setattr(record._Recording, "drain", drain_interrupted)
    out = tmp_path / "s"
    stats = record_session(RecordOptions(out, port, duration_s=0.5), status=False)
    meta = read_yaml(out / "session.yaml")
    assert meta["status"] == "complete" and stats.stopped_by == meta["stats"]["stopped_by"] == "duration"
    assert meta["warnings"] == ["SIGINT received during the shutdown: noted, the shutdown went on"]
    assert (out / "csi.csv").read_text() == ESP_RADAR_HEADER + "\n"
    assert signal.getsignal(signal.SIGINT) is before  # restored after the last session.yaml write


def test_force_with_the_calibration_of_the_session_it_replaces(tmp_path: Path, port: str) -> None:
    out = tmp_path / "s"
    out.mkdir()
    write_yaml(out / "session.yaml", {"id": "s", "written_by": "lofi record"})
    (out / "csi.csv").write_text("old\n")
    write_yaml(out / "calibration.yaml", CALIBRATION)
    kept = (out / "calibration.yaml").read_bytes()
    args = ["record", str(out), "--serial", port, "--no-camera", "--duration", "0.5", "--quiet", "--force"]
    assert main([*args, "--calibration", str(out / "calibration.yaml")]) == 0
    assert (out / "calibration.yaml").read_bytes() == kept
    assert (out / "csi.csv").read_text() == ESP_RADAR_HEADER + "\n"
    assert read_yaml(out / "session.yaml")["status"] == "complete"


def _fake_ping(folder: Path, body: str) -> Path:
    """A `ping` program of our own in ``folder`` (put first on PATH)."""
    folder.mkdir(exist_ok=True)
    program = folder / "ping"
    program.write_text("#!/bin/sh\n" + body)
    program.chmod(0o755)
    return folder


def test_icmp_ping_messages_go_to_serial_log_and_never_block_ping(
    tmp_path: Path, port: str, monkeypatch
) -> None:
    """A `ping` that writes more than a pipe holds (64 KiB) to stderr: lofi reads it as it comes,
    so `ping` goes on (it reaches the marker) and its lines are in serial.log, reason ``ping``."""
    marker = tmp_path / "ping_went_on"
    body = (
        'echo "args: $*" >&2\n'
        "i=0\n"
        'while [ $i -lt 1000 ]; do echo "ping: message $i, long enough for 1000 of them to fill a pipe'
        + ' .............................." >&2; i=$((i+1)); done\n'
        f'touch "{marker}"\n'
        "exec sleep 30\n"
    )
    bin_dir = _fake_ping(tmp_path / "bin", body)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "s"
    args = ["record", str(out), "--serial", port, "--no-camera", "--duration", "1.5", "--quiet"]
    assert main([*args, "--ping", "127.0.0.1", "--ping-method", "icmp", "--rate", "50"]) == 0
    assert marker.exists()
    lines = (out / "serial.log").read_text().splitlines()
    ping_lines = [line for line in lines if line.split("\t")[1] == "ping"]
    assert len(ping_lines) == 1001 and ping_lines[0].endswith("args: -q -i 0.02 127.0.0.1")
    meta = read_yaml(out / "session.yaml")
    assert meta["status"] == "complete" and meta["stats"]["serial_log_lines"] == len(lines)
    assert meta["source"]["traffic"] == "host icmp to 127.0.0.1 at 50 Hz"


# -- whole recordings through the CLI (seconds each) ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_LOGS))
def test_record_real_logs_without_camera(tmp_path: Path, name: str) -> None:
    device_s = float(np.ptp(read_csi_log(REAL_LOGS[name]).table["t_device"]))
    speed = max(1.0, device_s / 2.5)  # device timestamps kept, written up to 5x faster (2.5 s of replay)
    out, replay = _record(tmp_path, REAL_LOGS[name], "--no-camera", speed=speed, seconds=device_s / speed + 2)
    _same_rows(out / "csi.csv", REAL_LOGS[name])
    log = read_csi_log(out / "csi.csv")
    t_host = log.table["t_host"].to_numpy()
    sent = np.array(replay.sent)
    assert np.all(np.diff(t_host) >= 0)
    assert t_host[0] >= sent[0] - 0.01 and t_host[-1] <= sent[-1] + 0.5  # stamped on arrival
    serial_log = (out / "serial.log").read_text()
    assert serial_log.count("wifi: station") + serial_log.count("ping: timeout") >= 1
    meta = read_yaml(out / "session.yaml")
    assert meta["status"] == "complete" and meta["written_by"] == "lofi record"
    assert meta["stats"]["csi_rows"] == len(log)
    assert not (out / "video.mp4").exists()
    assert main(["inspect", str(out), "--json"]) == 0


@pytest.mark.slow
def test_record_simulated_session_with_video_feeds_the_pipeline(tmp_path: Path, simulated: Path) -> None:
    out, _ = _record(tmp_path, simulated / "csi.csv", "--camera", str(simulated / "video.mp4"),
                          "--subject", "S1", "--calibration", str(simulated / "calibration.yaml"),
                          seconds=6.5)  # fmt: skip
    _same_rows(out / "csi.csv", simulated / "csi.csv")
    frames = read_frames_csv(out / "frames.csv")
    source_frames = len(read_frames_csv(simulated / "frames.csv"))
    assert len(frames) == source_frames  # the whole file, played at its frame rate
    assert len(VideoFrames(out / "video.mp4", expected=len(frames))) == len(frames)
    span = frames["t_host"].iloc[-1] - frames["t_host"].iloc[0]
    assert span == pytest.approx((source_frames - 1) / 30.0, abs=0.5)
    csi_t = read_csi_log(out / "csi.csv").table["t_host"]
    assert abs(csi_t.iloc[0] - frames["t_host"].iloc[0]) < 1.0  # one clock for both streams
    assert (out / "calibration.yaml").read_bytes() == (simulated / "calibration.yaml").read_bytes()
    meta = read_session_meta(out)
    assert meta.subjects == ("S1",) and meta.camera_rate_hz == pytest.approx(30.0, abs=1)
    assert main(["inspect", str(out)]) == 0
    assert main(["csi", str(out), "--out", str(tmp_path / "interim" / "csi.parquet")]) == 0


@pytest.mark.slow
def test_record_surveyed_point_with_udp_pings(tmp_path: Path, simulated: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = str(sink.getsockname()[1])
        out, _ = _record(tmp_path, simulated / "csi.csv", "--no-camera", "--at", "0.9,2.4", "--scene", "lab",
                         "--ping", "127.0.0.1", "--ping-port", port, "--rate", "50", seconds=2.0)  # fmt: skip
    meta = read_yaml(out / "session.yaml")
    assert meta["position_m"] == [0.9, 2.4] and meta["mode"] == "survey" and meta["room"] == "lab"
    assert meta["csi_rate_hz"] == 50.0
    assert 60 <= meta["stats"]["pings_sent"] <= 110  # about 2 s at 50 Hz


def _subprocess_record(tmp_path: Path, log: Path, sig: int, after_s: float):
    """Run ``lofi record`` as a process, replay ``log``, send ``sig`` ``after_s`` s into the replay."""
    out = tmp_path / "session"
    replay = Replayer(log, out / "session.yaml")
    replay.start()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "lofi",
        "record",
        str(out),
        "--serial",
        replay.port,
        "--no-camera",
        "--quiet",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not replay.sent and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        assert replay.sent, process.communicate()[1].decode()
        time.sleep(after_s)
        t_signal = time.time()
        process.send_signal(sig)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        replay.close()
    return out, process.returncode, err.decode(), [t for t in replay.sent if t < t_signal], t_signal


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_cleanly_and_keeps_every_row(tmp_path: Path, simulated: Path, sig: int) -> None:
    out, code, err, sent, _ = _subprocess_record(tmp_path, simulated / "csi.csv", sig, after_s=2.0)
    assert code == 0, err
    log = read_csi_log(out / "csi.csv")
    assert log.report.skipped == 0
    assert len(log) >= len(sent) - 2  # rows in flight at the signal (the pty's buffer) may be cut
    assert read_yaml(out / "session.yaml")["status"] == "complete"
    assert read_yaml(out / "session.yaml")["stats"]["stopped_by"] == signal.Signals(sig).name


@pytest.mark.slow
def test_sigkill_leaves_whole_rows_losing_at_most_about_a_second(tmp_path: Path, simulated: Path) -> None:
    out, _, _, sent, t_kill = _subprocess_record(tmp_path, simulated / "csi.csv", signal.SIGKILL, after_s=2.5)
    log = read_csi_log(out / "csi.csv")
    assert set(log.report.skipped_by_reason) <= {"truncated_row"} and log.report.skipped <= 1
    flushed_before = [t for t in sent if t < t_kill - 1.5]  # 1 s flush period + conversion time
    assert len(log) >= len(flushed_before) > 0
    assert read_yaml(out / "session.yaml")["status"] == "recording"  # the session says it was cut
    assert main(["inspect", str(out)]) == 0
