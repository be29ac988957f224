"""``lofi record``: record a raw session from an ESP32 on a serial port and a camera."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lofi.cli.types import bounded, positive_float
from lofi.stages.record_choices import (
    DEFAULT_BAUD,
    DEFAULT_PING_HZ,
    DEFAULT_PING_METHOD,
    DEFAULT_UDP_PORT,
    PING_METHODS,
)

#: Largest ping rate the host drives (Hz): beyond it the ESP32's CSI callback cannot keep up.
MAX_PING_HZ = 1000.0


def add_record_command(sub: argparse._SubParsersAction) -> None:
    """Register record."""
    rec = sub.add_parser(
        "record",
        help="record a session: ESP32 CSI from a serial port + camera video, one host clock",
        description=(
            "Read CSI lines from the ESP32 on --serial (any esp-csi, esp-radar or ESP32-CSI-Tool layout) "
            "and frames from --camera, stamp both with one host clock, and write the session folder "
            "OUT_DIR as it goes: csi.csv (esp-radar layout, host timestamp filled in), video.mp4 + "
            "frames.csv, session.yaml, calibration.yaml (a copy of --calibration) and serial.log (every "
            "serial line that is not a CSI row). csi.csv, frames.csv and serial.log are written and "
            "fsynced every second. Stop with Ctrl-C or SIGTERM (or --duration); a status line on stderr "
            "shows CSI rate, loss, camera fps and dropped frames once a second. A recording stopped by "
            "an error still closes its files and says status: failed in session.yaml."
        ),
    )
    rec.add_argument("out_dir", metavar="OUT_DIR", help="new session folder (its name is the session id)")
    rec.add_argument(
        "--serial", required=True, metavar="PORT", help="the ESP32's serial port, e.g. /dev/ttyUSB0"
    )
    rec.add_argument(
        "--baud",
        type=bounded(int, 300, 10_000_000),
        default=DEFAULT_BAUD,
        help="baud rate (default: %(default)s)",
    )
    source = rec.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--camera",
        metavar="INDEX|PATH|URL",
        help="OpenCV camera: device index (0), a video file (played at its frame rate) or a stream URL",
    )
    source.add_argument("--no-camera", action="store_true", help="no video: a surveyed-point session (--at)")
    rec.add_argument(
        "--at",
        type=_point,
        metavar="X,Y",
        help="with --no-camera: the surveyed floor point in m (region frame), position_m in session.yaml; "
        "checked against the region of --calibration or --scene",
    )
    rec.add_argument(
        "--duration", type=positive_float, metavar="S", help="stop after S seconds (default: Ctrl-C)"
    )
    rec.add_argument("--subject", action="append", default=[], help="subject id; repeat for several")
    rec.add_argument(
        "--scene", help="the room: a scene shipped with lofi (lab) or a scene file (room, region)"
    )
    rec.add_argument("--calibration", metavar="FILE", help="calibration.yaml to copy into the session")
    rec.add_argument(
        "--csi-rate-hz",
        type=bounded(float, 0.0, MAX_PING_HZ, low_open=True),
        help="the firmware's nominal ping rate f2 in Hz, for session.yaml and the loss shown "
        "(default: --rate with --ping, else estimated)",
    )
    ping = rec.add_argument_group("host-generated traffic (when the firmware does not ping the router)")
    ping.add_argument("--ping", metavar="ROUTER_IP", help="send packets to this address at --rate")
    ping.add_argument(
        "--rate",
        type=bounded(float, 0.0, MAX_PING_HZ, low_open=True),
        default=DEFAULT_PING_HZ,
        help="packets per second for --ping (default: %(default)s)",
    )
    ping.add_argument(
        "--ping-method",
        choices=PING_METHODS,
        default=DEFAULT_PING_METHOD,
        help="udp: small UDP datagrams to --ping-port, sent by lofi itself (no root needed; the router "
        "answers a closed port with ICMP); icmp: the system `ping -i 1/RATE` (echo requests; intervals "
        "under 0.2 s usually need root) (default: %(default)s)",
    )
    ping.add_argument(
        "--ping-port",
        type=bounded(int, 1, 65535),
        default=DEFAULT_UDP_PORT,
        help="UDP port for --ping (default: %(default)s)",
    )
    rec.add_argument("--force", action="store_true", help="replace the session files already in OUT_DIR")
    rec.add_argument("--quiet", action="store_true", help="no status line")
    rec.set_defaults(func=_cmd_record, reads=("calibration",), write_dirs=("out_dir",), raw_files=None)


def _point(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not X,Y (two numbers in m, e.g. 0.9,2.4)") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise argparse.ArgumentTypeError(f"{text!r}: X and Y must be finite numbers (m)")
    return x, y


def _cmd_record(args: argparse.Namespace) -> int:
    from lofi.stages.record import PingOptions, RecordOptions, record_session

    if args.at is not None and not args.no_camera:
        raise ValueError("--at X,Y records a surveyed point without video: give --no-camera too")
    options = RecordOptions(
        out_dir=Path(args.out_dir),
        serial_port=args.serial,
        baud=args.baud,
        camera=None if args.no_camera else args.camera,
        at_m=args.at,
        duration_s=args.duration,
        subjects=tuple(args.subject),
        scene=args.scene,
        calibration=Path(args.calibration) if args.calibration else None,
        ping=PingOptions(args.ping, args.rate, args.ping_method, args.ping_port) if args.ping else None,
        csi_rate_hz=args.csi_rate_hz,
        force=args.force,
    )
    s = record_session(options, status=not args.quiet)
    loss = "n/a" if math.isnan(s.loss_pct) else f"{s.loss_pct:.2f} %"
    video = f", {s.frames:,} frames ({s.frames_dropped} dropped)" if options.camera else ""
    print(
        f"{options.out_dir.name}: {s.duration_s:.1f} s, {s.csi_rows:,} CSI rows (loss {loss}){video}, "
        f"{s.serial_log_lines} lines in serial.log; stopped by {s.stopped_by} -> {options.out_dir}"
    )
    return 0
