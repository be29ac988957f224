"""``lofi record`` refuses bad input at once (exit 2, one clear line) and writes nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lofi.io.session import write_yaml

#: Each refusal comes this fast (s): a second, with room for a loaded test machine.
QUICK_S = 2.0


def _timed(lofi, *args):
    start = time.monotonic()
    outcome = lofi("record", *args, "--duration", "1", "--quiet")
    return outcome, time.monotonic() - start


def test_missing_serial_port(lofi, tmp_path: Path) -> None:
    out = tmp_path / "s"
    outcome, took = _timed(lofi, out, "--serial", str(tmp_path / "ttyUSB9"), "--no-camera")
    outcome.refused("--serial", "ttyUSB9", "no such serial port")
    assert took < QUICK_S and not out.exists()


def test_busy_serial_port(lofi, tmp_path: Path, port: str) -> None:
    import serial

    holder = serial.Serial(port, 921600, exclusive=True)
    try:
        outcome, took = _timed(lofi, tmp_path / "s", "--serial", port, "--no-camera")
    finally:
        holder.close()
    outcome.refused("--serial", port, "busy")
    assert took < QUICK_S and not (tmp_path / "s").exists()


@pytest.mark.parametrize("camera", ["no_such_video.mp4", "not_a_video.mp4", "97"])
def test_camera_that_does_not_open(lofi, tmp_path: Path, port: str, camera: str) -> None:
    (tmp_path / "not_a_video.mp4").write_text("this is text, not video\n")
    source = camera if camera.isdigit() else str(tmp_path / camera)
    outcome, took = _timed(lofi, tmp_path / "s", "--serial", port, "--camera", source)
    outcome.refused("--camera", source)
    assert took < QUICK_S and not (tmp_path / "s").exists()


def test_folder_holding_a_session_is_refused_unless_forced(lofi, tmp_path: Path, port: str) -> None:
    out = tmp_path / "s"
    out.mkdir()
    write_yaml(out / "session.yaml", {"id": "s", "written_by": "lofi record"})
    (out / "csi.csv").write_text("kept\n")
    outcome, took = _timed(lofi, out, "--serial", port, "--no-camera")
    outcome.refused(str(out), "already holds a session", "--force")
    assert took < QUICK_S and (out / "csi.csv").read_text() == "kept\n"
    forced = lofi("record", out, "--serial", port, "--no-camera", "--duration", "0.5", "--quiet", "--force")
    assert forced.code == 0, forced.err
    assert (out / "csi.csv").read_text() != "kept\n"


def test_surveyed_point_outside_the_region(lofi, tmp_path: Path, port: str) -> None:
    outcome, took = _timed(
        lofi, tmp_path / "s", "--serial", port, "--no-camera", "--scene", "lab", "--at", "2.5,1"
    )
    outcome.refused("--at = 2.5,1", "outside the floor region", "x 0..1.8 m")
    assert took < QUICK_S and not (tmp_path / "s").exists()


def test_surveyed_point_without_scene_or_calibration_is_checked_against_the_lab(lofi, tmp_path, port) -> None:
    """What `lofi align` will check the session against: the default lab region."""
    outcome, took = _timed(lofi, tmp_path / "s", "--serial", port, "--no-camera", "--at", "1,4.9")
    outcome.refused("--at = 1,4.9 m", "x 0..1.8 m, y 0..4.8 m", "the default lab region")
    assert took < QUICK_S and not (tmp_path / "s").exists()


def test_point_with_video_and_bad_ping_target(lofi, tmp_path: Path, port: str) -> None:
    lofi("record", tmp_path / "s", "--serial", port, "--camera", "0", "--at", "1,1").refused("--no-camera")
    outcome = lofi("record", tmp_path / "s", "--serial", port, "--no-camera", "--ping", "router.local")
    outcome.refused("--ping router.local", "not an IP address")
    assert not (tmp_path / "s").exists()


def _ping_program(folder: Path, body: str) -> Path:
    """A folder holding a `ping` program of our own (a shell script), to put first on PATH."""
    folder.mkdir()
    program = folder / "ping"
    program.write_text("#!/bin/sh\n" + body)
    program.chmod(0o755)
    return folder


def test_icmp_traffic_without_a_ping_program(lofi, tmp_path: Path, port: str, monkeypatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `ping` on this computer
    outcome, took = _timed(
        lofi, tmp_path / "s", "--serial", port, "--no-camera", "--ping", "127.0.0.1", "--ping-method", "icmp"
    )
    outcome.refused("--ping-method icmp", "no `ping` program", "--ping-method udp")
    assert took < QUICK_S and not (tmp_path / "s").exists()


def test_icmp_ping_that_stops_at_once(lofi, tmp_path: Path, port: str, monkeypatch) -> None:
    bin_dir = _ping_program(tmp_path / "bin", 'echo "ping: sendmsg: Operation not permitted" >&2\nexit 2\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    outcome, took = _timed(
        lofi, tmp_path / "s", "--serial", port, "--no-camera", "--ping", "127.0.0.1", "--ping-method", "icmp"
    )
    outcome.refused("--ping 127.0.0.1", "stopped at once (exit 2)", "Operation not permitted")
    assert took < QUICK_S and not (tmp_path / "s").exists()


def test_udp_traffic_that_cannot_be_sent(lofi, tmp_path: Path, port: str) -> None:
    """The broadcast address takes no UDP packets from a socket not allowed to broadcast: the first
    packet (the probe) fails before anything is written."""
    outcome, took = _timed(lofi, tmp_path / "s", "--serial", port, "--no-camera", "--ping", "255.255.255.255")
    outcome.refused("--ping 255.255.255.255 --ping-port 9", "cannot send UDP packets there")
    assert took < QUICK_S and not (tmp_path / "s").exists()
