"""``lofi inspect``, ``simulate``, ``preview-scene`` and ``calibrate``: making and checking sessions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lofi.cli.options import add_quiet, has_display
from lofi.cli.types import bounded, folder_name, non_negative_int, positive_float
from lofi.io.session_layout import SESSION_CALIBRATION
from lofi.stages.paths import DEFAULT_SCENE

#: The longest session `lofi simulate` makes (s): 3 h of 100 Hz CSI already takes gigabytes of memory.
MAX_SESSION_S = 3 * 3600.0
SCENE_HELP = "a scene shipped with lofi (lab) or a scene file of your own (default: %(default)s)"


def add_session_commands(sub: argparse._SubParsersAction) -> None:
    """Register inspect, simulate, preview-scene and calibrate."""
    _add_inspect(sub)
    _add_simulate(sub)
    _add_preview_scene(sub)
    _add_calibrate(sub)


# -- inspect ---------------------------------------------------------------------------------


def _cmd_inspect(args: argparse.Namespace) -> int:
    from lofi.stages.inspect import run_inspect

    summary = run_inspect(args.path, args.out)
    print(json.dumps(summary, allow_nan=False) if args.json else format_summary(summary))
    return 0


def format_summary(summary: dict[str, Any]) -> str:
    """The human-readable form printed by ``lofi inspect``."""
    reasons = _counts(summary["skipped_by_reason"])
    lines = [
        f"{summary['source']}",
        f"  layout          {summary['layout']}",
        f"  rows kept       {summary['rows']:,} of {summary['lines']:,} lines",
        f"  rows skipped    {summary['skipped']:,} ({reasons})",
        f"  fields repaired {_counts(summary['field_problems'])} (row kept, field set to NaN)",
        f"  subcarriers     {summary['subcarriers']}",
    ]
    if summary["rows"] == 0:
        lines.append(f"  empty because   {summary['empty_reason']}")
        return "\n".join(lines)
    rate = summary["rate_hz"]
    loss = "n/a" if summary["loss_pct"] is None else f"{summary['loss_pct']:.2f} %"
    segments = summary.get("segments", 1)
    within = f", {segments} segments" if segments > 1 else ""
    lines += [
        f"  duration        {summary['duration_s']:.3f} s (device clock{within})",
        f"  packet rate     {rate:.2f} Hz" if rate else "  packet rate     n/a",
        f"  loss (eq. 4)    {loss} ({summary['lost_packets']:,} packets, "
        f"nominal {summary['nominal_rate_hz']} Hz)",
        f"  RSSI            {summary['rssi_min_dbm']} .. {summary['rssi_max_dbm']} dBm",
    ]
    lines += _clock_lines(summary)
    for note, count in summary["notes"].items():
        if count:
            lines.append(f"  note            {note}: {count:,}")
    return "\n".join(lines)


def _clock_lines(summary: dict[str, Any]) -> list[str]:
    """Lines for what the clock repair found (none for a clean log)."""
    found = {
        "reboots": "reboots         {:,} (the device counter restarted; each starts a segment, "
        "no loss counted across it)",
        "duplicates": "duplicates      {:,} rows repeat a packet's device time (counted once in the rate)",
        "clock_jumps": "clock jumps     {:,} (device counter re-based from the host clock)",
        "bad_host_times": "bad host times  {:,} (isolated outliers, ignored)",
    }
    return [f"  {text.format(summary[key])}" for key, text in found.items() if summary.get(key)]


def _counts(by_reason: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in by_reason.items()) or "none"


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    inspect = sub.add_parser(
        "inspect",
        help="summarise an ESP32 CSI log or a session folder",
        description=(
            "Read an ESP32 CSI log (any esp-csi, esp-radar or ESP32-CSI-Tool layout) and print "
            "the detected layout, rows kept, rows skipped by reason, subcarrier count, duration, "
            "mean packet rate, loss estimated from device-time gaps (paper eq. 4) and the RSSI "
            "range. PATH is a CSV file or a session folder holding csi.csv (its session.yaml "
            "may give the nominal rate csi_rate_hz; otherwise it is estimated)."
        ),
    )
    inspect.add_argument("path", metavar="PATH", help="CSI CSV file or session folder")
    inspect.add_argument("--json", action="store_true", help="print exactly one JSON object")
    inspect.add_argument("--out", metavar="FILE", help="also write the summary as JSON to FILE (atomically)")
    inspect.set_defaults(func=_cmd_inspect, reads=("path",), writes=("out",))


# -- simulate and preview-scene ----------------------------------------------------------------


def _cmd_simulate(args: argparse.Namespace) -> int:
    import cv2

    from lofi.sim.session import SessionSpec
    from lofi.stages.scenes import load_scene
    from lofi.stages.simulate import simulate_session

    cv2.setNumThreads(args.threads)
    scene = load_scene(args.scene)
    spec = SessionSpec(
        session_id=args.id or Path(args.out).name,
        subjects=tuple(args.subject),
        camera=args.view,
        mode=args.mode,
        duration_s=args.seconds if args.seconds is not None else round(args.minutes * 60.0, 3),
        stand_s=args.stand_s,
        seed=args.seed,
        device_clock_start_us=args.device_clock_start_us,
        outfit_change_s=args.outfit_change_s,
    )
    stats = simulate_session(scene, spec, args.out, progress=not args.quiet, force=args.force)
    print(
        f"{spec.session_id}: {stats.duration_s:.1f} s, {stats.pings_logged:,} CSI rows "
        f"({stats.loss_pct:.1f} % lost), {stats.frames:,} frames "
        f"({stats.frames_with_person:,} with the person) -> {args.out}"
    )
    return 0


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser(
        "simulate",
        help="write a synthetic recording session (video + ESP32 CSI log + truth)",
        description=(
            "Simulate one recording session in a scene (lab, or a scene file of your own) and write it "
            "in the raw session format: session.yaml, csi.csv (esp-radar layout), video.mp4 + frames.csv, "
            "calibration.yaml, and truth/ (true positions and boxes, for evaluation only). "
            "The same arguments give identical files."
        ),
    )
    sim.add_argument("--scene", default=DEFAULT_SCENE, help=SCENE_HELP)
    sim.add_argument("--subject", action="append", required=True, help="subject id; repeat for turns")
    sim.add_argument("--view", default="paper", help="camera view in the scene (default: %(default)s)")
    sim.add_argument("--mode", choices=("walk", "survey"), default="walk", help="walk or surveyed points")
    length = sim.add_mutually_exclusive_group()
    length.add_argument(
        "--minutes",
        type=bounded(float, 0.0, MAX_SESSION_S / 60, low_open=True),
        default=5.0,
        help="walk length in minutes, rounded to the ms (default: 5; at most 180)",
    )
    length.add_argument(
        "--seconds", type=bounded(float, 0.0, MAX_SESSION_S, low_open=True), help="walk length in seconds"
    )
    sim.add_argument(
        "--stand-s",
        type=bounded(float, 0.0, 600.0, low_open=True),
        default=4.0,
        help="survey: seconds per point",
    )
    sim.add_argument("--seed", type=non_negative_int, default=0, help="random seed, >= 0 (default: 0)")
    sim.add_argument(
        "--device-clock-start-us", type=bounded(int, 0, 2**32 - 1), help="ESP32 counter at start (us, 32-bit)"
    )
    sim.add_argument(
        "--outfit-change-s",
        type=positive_float,
        help="draw new random clothing colours this often (s; for detector-training sessions)",
    )
    sim.add_argument("--id", type=folder_name, help="session id (default: the output folder's name)")
    sim.add_argument("--threads", type=bounded(int, 1, 64), default=1, help="OpenCV threads (default: 1)")
    add_quiet(sim)
    sim.add_argument("--out", required=True, help="output session folder")
    sim.add_argument(
        "--force",
        action="store_true",
        help="write into an existing folder that `lofi simulate` did not write (its other files stay)",
    )
    sim.set_defaults(func=_cmd_simulate, reads=("scene",), write_dirs=("out",), raw_files=None)  # makes one


def _cmd_preview_scene(args: argparse.Namespace) -> int:
    import cv2

    from lofi.io.atomic import atomic_open
    from lofi.sim.preview import preview_views
    from lofi.stages.scenes import load_scene

    suffix = Path(args.out).suffix.lower() or ".png"
    ok, png = cv2.imencode(suffix, preview_views(load_scene(args.scene)))
    if not ok:
        raise OSError(f"{args.out}: cannot encode an image of type {suffix}")
    with atomic_open(args.out, "wb") as handle:
        handle.write(png.tobytes())
    print(f"wrote {args.out}")
    return 0


def _add_preview_scene(sub: argparse._SubParsersAction) -> None:
    preview = sub.add_parser(
        "preview-scene",
        help="render one frame per camera view of a scene file, plus a plan view",
        description="Render a frame per camera view (region outlined in green) and a plan view.",
    )
    preview.add_argument("--scene", default=DEFAULT_SCENE, help=SCENE_HELP)
    preview.add_argument(
        "--out", default="scene_preview.png", help="PNG or JPEG to write (default: %(default)s)"
    )
    preview.set_defaults(func=_cmd_preview_scene, reads=("scene",), writes=("out",))


# -- calibrate ---------------------------------------------------------------------------------


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from lofi.io.anchors import parse_numbers, read_anchors_csv
    from lofi.stages.calibrate import CalibrationInput, run_calibrate

    anchors = [parse_numbers(a, 4, "--anchor") for a in args.anchor or []]
    anchors += read_anchors_csv(args.anchors_csv) if args.anchors_csv else []
    if args.live:
        anchors, frame_png = _live_anchors(args, anchors)
        if not anchors:
            return 0
        args.preview, args.image_size = str(frame_png), _frame_size(frame_png)
    size = parse_numbers(args.image_size, 2, "--image-size") if args.image_size else None
    region = parse_numbers(args.region, 2, "--region")
    spec = CalibrationInput(
        anchors,
        (region[0], region[1]),
        (int(size[0]), int(size[1])) if size else None,
        tuple(parse_numbers(args.intrinsics, 4, "--intrinsics")) if args.intrinsics else None,
        tuple(parse_numbers(args.distortion, 5, "--distortion")) if args.distortion else None,
    )
    preview = None
    if args.preview:
        preview = Path(args.preview), Path(args.preview_out or Path(args.out).with_suffix(".preview.png"))
    source = f"--anchor options and {args.anchors_csv}" if args.anchors_csv else "--anchor options"
    _, errors = run_calibrate(spec, Path(args.out), args.ransac, preview, source)
    print(
        f"wrote {args.out}: {len(anchors)} anchors, "
        f"reprojection error mean {errors.mean():.2f} cm, max {errors.max():.2f} cm"
    )
    if preview:
        print(f"wrote {preview[1]}")
    return 0


def _live_anchors(args: argparse.Namespace, anchors: list) -> tuple[list, Path]:
    """``--live``: one camera frame saved beside ``--out``; the anchors given, else clicked on it in a
    window (each clicked pixel's floor x,y typed at the prompt), else none (headless: instructions)."""
    from lofi.io.anchors import parse_numbers
    from lofi.stages.calibrate import click_anchors, grab_frame, write_frame

    frame = grab_frame(args.live)
    frame_png = write_frame(frame, live_frame_path(args.out))
    print(f"wrote {frame_png}: the camera's frame ({frame.shape[1]} x {frame.shape[0]} px)")
    if anchors:
        return anchors, frame_png
    if not has_display():
        print(f"no display: open {frame_png}, find 4 or more floor marks (no 3 in a line) and run again "
              f"with --live {args.live} --anchor U,V,X,Y for each (pixel u,v; floor x,y in m)")  # fmt: skip
        return [], frame_png
    clicked = click_anchors(frame)
    try:
        floor = [parse_numbers(input(f"floor x,y (m) of mark {k} at pixel {u},{v}: "), 2, "floor x,y")
                 for k, (u, v) in enumerate(clicked, start=1)]  # fmt: skip
    except EOFError:  # the input ended (Ctrl-D, or no terminal): nothing to calibrate with
        raise ValueError(f"--live: no floor x,y typed for the {len(clicked)} clicked marks") from None
    return [[u, v, *xy] for (u, v), xy in zip(clicked, floor, strict=True)], frame_png


def live_frame_path(out: str | Path) -> Path:
    """Where ``--live`` saves its frame: beside the calibration (``x.yaml`` -> ``x.frame.png``)."""
    return Path(out).with_suffix(".frame.png")


def _live_frame(args: argparse.Namespace) -> list[Path]:
    return [live_frame_path(args.out)] if args.live else []


def _frame_size(png: Path) -> str:
    """``W,H`` of a saved frame (the image size the anchors' pixels belong to)."""
    import cv2

    height, width = cv2.imread(str(png)).shape[:2]
    return f"{width},{height}"


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    cal = sub.add_parser(
        "calibrate",
        help="write calibration.yaml from floor anchors (pixel <-> floor)",
        description=(
            "Fit the pixel-to-floor homography (paper eq. 2) from at least 4 anchors, no 3 collinear: "
            "exactly 4 use cv2.getPerspectiveTransform, more use cv2.findHomography (least squares, "
            "or RANSAC with --ransac). With --intrinsics, pixels are undistorted first. Prints the "
            "reprojection error; --preview draws anchors, region and a 0.5 m grid on a frame."
        ),
    )
    cal.add_argument(
        "--anchor", action="append", metavar="U,V,X,Y", help="pixel u,v and floor x,y (m); repeat"
    )
    cal.add_argument("--anchors-csv", help="CSV file with rows u,v,x,y (a header row u,v,x,y is allowed)")
    cal.add_argument("--image-size", metavar="W,H", help="image size in pixels (anchors must lie inside)")
    cal.add_argument("--intrinsics", metavar="FX,FY,CX,CY", help="camera intrinsics in pixels")
    cal.add_argument(
        "--distortion", metavar="K1,K2,P1,P2,K3", help="plumb-bob distortion (with --intrinsics)"
    )
    cal.add_argument(
        "--region", default="1.8,4.8", metavar="W,D", help="floor region size in m (default: 1.8,4.8)"
    )
    cal.add_argument("--ransac", action="store_true", help="robust fit (more than 4 anchors)")
    cal.add_argument(
        "--live", metavar="CAMERA",
        help="take one frame of this camera (index, video file or URL), save it beside --out and click "
        "the anchors on it where a display exists; headless, pass them with --anchor",
    )  # fmt: skip
    cal.add_argument("--preview", metavar="IMAGE_OR_VIDEO", help="draw the calibration on this frame")
    cal.add_argument("--preview-out", help="PNG for --preview (default: next to --out)")
    cal.add_argument("--out", default="calibration.yaml", help="output file (default: %(default)s)")
    cal.set_defaults(
        func=_cmd_calibrate,
        reads=("anchors_csv", "preview"),
        writes=("out", "preview_out"),
        more_writes=_live_frame,
        # a recording's calibration is made by this command, and --live's frame beside it
        raw_files=(SESSION_CALIBRATION, live_frame_path(SESSION_CALIBRATION).name),
    )
