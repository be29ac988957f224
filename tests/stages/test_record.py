"""``lofi record`` without hardware: a pseudo-terminal replays real ESP32 logs, a video file is the camera.

The replayer writes each log line at its recorded device time (local_timestamp, sped up where
the test says so), with ESP-IDF log lines and prompts in between, into the master side of a
pty; ``lofi record`` reads the slave side as it would read a USB serial port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from lofi.cli import main
from lofi.io.esp32.reader import read_csi_log
from lofi.io.serial_lines import SerialCsiConverter, StampedLine
from lofi.io.session import read_session_meta, read_yaml
from lofi.io.video import VideoFrames, read_frames_csv
from lofi.stages.record import LossMeter
from lofi.stages.record_devices import UdpPinger

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
