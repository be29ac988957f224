"""The ``lofi`` command line. Every subcommand is a thin wrapper over a library function."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lofi import __version__
from lofi.cli_ingest import add_ingest_commands
from lofi.cli_ingest import interim_path as _interim
from lofi.io.csi_reader import CsiReadError

#: Foot-point models of ``lofi.vision.localize`` (kept here so the CLI starts without OpenCV).
FOOT_POINTS = ("bottom_middle", "upright")


def _cmd_inspect(args: argparse.Namespace) -> int:
    from lofi.io.inspect import format_summary, inspect_path

    summary = inspect_path(args.path)
    print(json.dumps(summary) if args.json else format_summary(summary))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    import cv2

    from lofi.sim.scene import load_scene
    from lofi.sim.session import SessionSpec, simulate_session

    cv2.setNumThreads(args.threads)
    scene = load_scene(args.scene)
    duration = args.seconds if args.seconds is not None else args.minutes * 60.0
    spec = SessionSpec(
        session_id=args.id or Path(args.out).name,
        subjects=tuple(args.subject),
        camera=args.view,
        mode=args.mode,
        duration_s=duration,
        stand_s=args.stand_s,
        seed=args.seed,
        device_clock_start_us=args.device_clock_start_us,
        outfit_change_s=args.outfit_change_s,
    )
    stats = simulate_session(scene, spec, args.out, progress=not args.quiet)
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
            "Simulate one recording session in a scene file (conf/scene/*.yaml) and write it in the "
            "raw session format: session.yaml, csi.csv (esp-radar layout), video.mp4 + frames.csv, "
            "calibration.yaml, and truth/ (true positions and boxes, for evaluation only). "
            "The same arguments give identical files."
        ),
    )
    sim.add_argument("--scene", default="conf/scene/lab.yaml", help="scene file (default: %(default)s)")
    sim.add_argument("--subject", action="append", required=True, help="subject id; repeat for turns")
    sim.add_argument("--view", default="paper", help="camera view in the scene (default: %(default)s)")
    sim.add_argument("--mode", choices=("walk", "survey"), default="walk", help="walk or surveyed points")
    length = sim.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=5.0, help="walk length in minutes (default: 5)")
    length.add_argument("--seconds", type=float, help="walk length in seconds")
    sim.add_argument("--stand-s", type=float, default=4.0, help="survey: seconds per point")
    sim.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sim.add_argument("--device-clock-start-us", type=int, help="ESP32 counter at start (us)")
    sim.add_argument(
        "--outfit-change-s",
        type=float,
        help="draw new random clothing colours this often (s; for detector-training sessions)",
    )
    sim.add_argument("--id", help="session id (default: the output folder's name)")
    sim.add_argument("--threads", type=int, default=1, help="OpenCV threads (default: 1)")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.add_argument("--out", required=True, help="output session folder")
    sim.set_defaults(func=_cmd_simulate)


def _cmd_preview_scene(args: argparse.Namespace) -> int:
    import cv2

    from lofi.io.atomic import atomic_open
    from lofi.sim.preview import preview_views
    from lofi.sim.scene import load_scene

    suffix = Path(args.out).suffix.lower() or ".png"
    ok, png = cv2.imencode(suffix, preview_views(load_scene(args.scene)))
    if not ok:
        raise OSError(f"{args.out}: cannot encode an image of type {suffix}")
    with atomic_open(args.out, "wb") as handle:
        handle.write(png.tobytes())
    print(f"wrote {args.out}")
    return 0


def _numbers(text: str, n: int, what: str) -> list[float]:
    parts = text.replace(";", ",").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{what}: expected {n} comma-separated numbers, got {text!r}") from None
    if len(values) != n:
        raise ValueError(f"{what}: expected {n} comma-separated numbers, got {text!r}")
    return values


def _anchors_from_args(args: argparse.Namespace) -> list[list[float]]:
    import csv

    rows = [_numbers(a, 4, "--anchor") for a in args.anchor or []]
    if args.anchors_csv:
        with open(args.anchors_csv, newline="") as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                if not row or row[0].strip().startswith("#") or row[0].strip().lower() == "u":
                    continue
                rows.append(_numbers(",".join(row), 4, f"{args.anchors_csv} row {line_no}"))
    return rows


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from lofi.io.session import write_yaml
    from lofi.vision.calibration import calibration_from_dict

    anchors = _anchors_from_args(args)
    data: dict = {"anchors": [{"pixel": a[:2], "floor": a[2:]} for a in anchors]}
    if args.image_size:
        data["image_size"] = [int(v) for v in _numbers(args.image_size, 2, "--image-size")]
    if args.intrinsics:
        fx, fy, cx, cy = _numbers(args.intrinsics, 4, "--intrinsics")
        data["intrinsics"] = {"fx": fx, "fy": fy, "cx": cx, "cy": cy}
        data["distortion"] = _numbers(args.distortion, 5, "--distortion") if args.distortion else [0.0] * 5
    region = _numbers(args.region, 2, "--region")
    data["region"] = {"x_m": [0.0, region[0]], "y_m": [0.0, region[1]]}
    calibration = calibration_from_dict(data, "command line", ransac=args.ransac)
    write_yaml(args.out, data)
    errors = calibration.reprojection_error_m() * 100
    print(
        f"wrote {args.out}: {len(anchors)} anchors, "
        f"reprojection error mean {errors.mean():.2f} cm, max {errors.max():.2f} cm"
    )
    if args.preview:
        _write_preview(args, calibration, tuple(region))
    return 0


def _write_preview(args: argparse.Namespace, calibration, region: tuple[float, float]) -> None:
    import cv2

    from lofi.io.atomic import atomic_open
    from lofi.vision.overlay import draw_calibration

    image = cv2.imread(args.preview)
    if image is None:
        capture = cv2.VideoCapture(args.preview)
        ok, image = capture.read()
        capture.release()
        if not ok:
            raise OSError(f"{args.preview}: not an image or a readable video")
    ok, png = cv2.imencode(".png", draw_calibration(image, calibration, region))
    out = args.preview_out or str(Path(args.out).with_suffix(".preview.png"))
    with atomic_open(out, "wb") as handle:
        handle.write(png.tobytes())
    print(f"wrote {out}")


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
    cal.add_argument("--preview", metavar="IMAGE_OR_VIDEO", help="draw the calibration on this frame")
    cal.add_argument("--preview-out", help="PNG for --preview (default: next to --out)")
    cal.add_argument("--out", default="calibration.yaml", help="output file (default: %(default)s)")
    cal.set_defaults(func=_cmd_calibrate)


def _detector_options(args: argparse.Namespace) -> dict:
    if args.detector == "yolo":
        return {"weights": args.weights, "imgsz": args.imgsz, "device": args.device}
    return {}


def _cmd_detect(args: argparse.Namespace) -> int:
    from lofi.io.session import write_table
    from lofi.vision.detect import detect_session
    from lofi.vision.detectors import make_detector
    from lofi.vision.foot_refine import FootRefineOptions

    session = Path(args.session)
    detector = make_detector(args.detector, **_detector_options(args))
    refine = FootRefineOptions() if args.refine_feet else None
    run = detect_session(session, detector, args.stride, not args.quiet, refine)
    out = Path(args.out) if args.out else _interim(args.session, "detections.parquet")
    write_table(out, run.table)
    found = int(np.isfinite(run.table["x0"]).sum())
    refined = f", {int(np.isfinite(run.table['foot_y']).sum()):,} box bottoms refined" if refine else ""
    print(
        f"{session.name}: {args.detector} found the person in {found:,} of {len(run.table):,} frames"
        f"{refined} ({run.fps:.1f} frames/s, {run.corrupt_frames} corrupt frames skipped) -> {out}"
    )
    return 0


def _cmd_localize(args: argparse.Namespace) -> int:
    import pandas as pd

    from lofi.io.session import read_yaml, write_table
    from lofi.vision.calibration import load_calibration
    from lofi.vision.foot_correction import read_foot_correction
    from lofi.vision.localize import localize

    session = Path(args.session)
    detections_path = (
        Path(args.detections) if args.detections else _interim(args.session, "detections.parquet")
    )
    if not detections_path.is_file():
        raise OSError(f"{detections_path}: no detections; run `lofi detect {args.session}` first")
    calibration_path = session / "calibration.yaml"
    calibration, region = load_calibration(read_yaml(calibration_path), str(calibration_path))
    detections = pd.read_parquet(detections_path)
    refined = "foot_y" in detections and bool(np.isfinite(detections["foot_y"]).any())
    offset = args.foot_offset_m
    if args.foot_offset_from:
        found = bool(np.isfinite(detections["x0"]).any())
        check = refined if found else None
        offset = read_foot_correction(args.foot_offset_from, args.foot_point, check).foot_offset_m
    positions = localize(detections, calibration, region, offset, foot_point=args.foot_point)
    out = Path(args.out) if args.out else _interim(args.session, "positions.parquet")
    write_table(out, positions)
    counts = positions["reason"].replace("", "valid").value_counts().to_dict()
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"{session.name}: {len(positions):,} frames -> {out} ({summary})")
    return 0


def _add_labels(sub: argparse._SubParsersAction) -> None:
    det = sub.add_parser(
        "detect",
        help="detect the person in every frame of a session (eq. 1)",
        description=(
            "Run a person detector on SESSION/video.mp4 and keep, per frame, the most confident box of "
            "class person (paper eq. 1), or none. Writes data/interim/<session>/detections.parquet."
        ),
    )
    det.add_argument("session", help="raw session folder (video.mp4 + frames.csv)")
    det.add_argument("--detector", choices=("yolo", "hog", "haar", "bgsub"), default="yolo")
    det.add_argument(
        "--weights", default="data/models/person_yolo.pt", help="YOLO weights: path, name or fall-detection"
    )
    det.add_argument("--imgsz", type=int, default=320, help="YOLO inference size (default: 320)")
    det.add_argument("--device", default="cpu", help="YOLO device: cpu, 0, cuda:0 (default: cpu)")
    det.add_argument("--stride", type=int, default=1, help="detect every N-th frame only (default: 1)")
    _add_refine_feet(det)
    det.add_argument("--out", help="output parquet (default: data/interim/<session>/detections.parquet)")
    det.add_argument("--quiet", action="store_true", help="no progress bar")
    det.set_defaults(func=_cmd_detect)

    loc = sub.add_parser(
        "localize",
        help="map detections to floor positions (eqs. 2-3)",
        description=(
            "Map each kept box's foot point (--foot-point) through SESSION/calibration.yaml to the floor "
            "(metres), using the refined box bottom (foot_y) where `lofi detect` wrote one. "
            "Frames get valid=False with a reason: no_person, outside_region, jump (steps into "
            "and out of the frame both faster than 3 m/s and over 0.3 m) or corrupt_frame; positions are "
            "never changed silently."
        ),
    )
    loc.add_argument("session", help="raw session folder (calibration.yaml)")
    loc.add_argument(
        "--detections", help="detections parquet (default: data/interim/<session>/detections.parquet)"
    )
    offset = loc.add_mutually_exclusive_group()
    offset.add_argument(
        "--foot-offset-m", type=float, default=0.0, help="move labels away from the camera (m)"
    )
    offset.add_argument(
        "--foot-offset-from", metavar="JSON", help="the offset fitted by `lofi fit-foot-offset`"
    )
    loc.add_argument(
        "--foot-point",
        choices=FOOT_POINTS,
        default="bottom_middle",
        help="bottom_middle: the box's bottom-middle (paper eq. 3); upright: where the person's axis "
        "through the vertical vanishing point meets the box bottom (needs intrinsics) (default: %(default)s)",
    )
    loc.add_argument("--out", help="output parquet (default: data/interim/<session>/positions.parquet)")
    loc.set_defaults(func=_cmd_localize)


def _add_refine_feet(parser: argparse.ArgumentParser, whose: str = "") -> None:
    parser.add_argument(
        "--refine-feet",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"refine the box bottom{whose} against the empty room (temporal median of the video; "
        "static camera) before mapping the foot point to the floor (default: on)",
    )


def _cmd_train_detector(args: argparse.Namespace) -> int:
    from lofi.vision.train_detector import TrainSettings, train_detector

    settings = TrainSettings(
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        frames_per_session=args.frames_per_session,
        seed=args.seed,
        device=args.device,
    )
    report = train_detector([Path(s) for s in args.session], Path(args.out), settings)
    print(
        f"trained {args.out} in {report['seconds']:.0f} s: mAP50 {report.get('mAP50(B)', float('nan')):.3f}, "
        f"mAP50-95 {report.get('mAP50-95(B)', float('nan')):.3f}"
    )
    return 0


def _add_train_detector(sub: argparse._SubParsersAction) -> None:
    tr = sub.add_parser(
        "train-detector",
        help="train the synthetic default person detector (YOLO nano, offline)",
        description=(
            "Train an ultralytics YOLO nano from scratch on frames and true boxes of detector-training "
            "sessions (other people and clothing than the benchmark's), fully offline. Writes the "
            "weights and a JSON report (metrics, seconds) next to them."
        ),
    )
    tr.add_argument("--session", action="append", required=True, help="detector-training session; repeat")
    tr.add_argument("--out", default="data/models/person_yolo.pt", help="weights file (default: %(default)s)")
    tr.add_argument("--epochs", type=int, default=30, help="epochs (default: 30)")
    tr.add_argument("--imgsz", type=int, default=320, help="image size (default: 320)")
    tr.add_argument("--batch", type=int, default=4, help="batch size (default: 4)")
    tr.add_argument(
        "--frames-per-session", type=int, default=50, help="frames sampled per session (default: 50)"
    )
    tr.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    tr.add_argument("--device", default="cpu", help="cpu, 0, cuda:0 (default: cpu)")
    tr.set_defaults(func=_cmd_train_detector)


def _cmd_label_quality(args: argparse.Namespace) -> int:
    from lofi.vision.foot_correction import read_foot_correction
    from lofi.vision.foot_refine import FootRefineOptions
    from lofi.vision.labelstudy import run_label_study

    if args.foot_offset_from:
        correction = read_foot_correction(args.foot_offset_from, args.foot_point, args.refine_feet)
        args.foot_offset_m, offset_note = correction.foot_offset_m, correction.note()
    else:
        offset_note = ""
    summary = run_label_study(
        survey=[Path(p) for p in args.survey],
        walks=[Path(p) for p in args.walk or []],
        detectors=args.detectors.split(","),
        weights=args.weights,
        foot_offset_m=args.foot_offset_m,
        out_dir=Path(args.out_dir),
        progress=not args.quiet,
        fit_on=[Path(p) for p in args.fit_foot_offset_on or []],
        foot_point=args.foot_point,
        offset_note=offset_note,
        refine=FootRefineOptions() if args.refine_feet else None,
    )
    print(summary)
    return 0


def _cmd_fit_foot_offset(args: argparse.Namespace) -> int:
    from lofi.vision.foot_correction import FootCorrection, write_foot_correction
    from lofi.vision.foot_refine import FootRefineOptions
    from lofi.vision.labelstudy import fitted_foot_offset

    options = {"weights": args.weights, "imgsz": args.imgsz} if args.detector == "yolo" else {}
    sessions = [Path(p) for p in args.session]
    refine = FootRefineOptions() if args.refine_feet else None
    offset = fitted_foot_offset(sessions, args.detector, options, not args.quiet, args.foot_point, refine)
    correction = FootCorrection(
        round(offset, 3), args.foot_point, args.detector, [str(p) for p in sessions], refine is not None
    )
    write_foot_correction(args.out, correction)
    print(f"{correction.note()} -> {args.out}")
    return 0


def _add_fit_foot_offset(sub: argparse._SubParsersAction) -> None:
    fit = sub.add_parser(
        "fit-foot-offset",
        help="fit the foot-point correction on sessions with truth (other people)",
        description=(
            "Detect and localize the person in sessions with truth (the detector-training sessions: other "
            "people than the benchmark's), and write the median along-view label error as the offset that "
            "`lofi localize --foot-offset-from` applies."
        ),
    )
    fit.add_argument("--session", action="append", required=True, help="session with truth/; repeat")
    fit.add_argument("--detector", choices=("yolo", "hog", "haar", "bgsub"), default="yolo")
    fit.add_argument("--weights", default="data/models/person_yolo.pt", help="YOLO weights")
    fit.add_argument("--imgsz", type=int, default=320, help="YOLO inference size (default: %(default)s)")
    fit.add_argument("--foot-point", choices=FOOT_POINTS, default="upright", help="(default: %(default)s)")
    _add_refine_feet(fit)
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.add_argument("--out", default="data/models/foot_offset.json", help="(default: %(default)s)")
    fit.set_defaults(func=_cmd_fit_foot_offset)


def _add_label_quality(sub: argparse._SubParsersAction) -> None:
    lq = sub.add_parser(
        "label-quality",
        help="compare vision labels with synthetic truth for every detector and view",
        description=(
            "Reproduce the paper's label-quality experiment on surveyed-points sessions (10 points, "
            "2 people, 3 views; paper numbers printed beside ours) for every detector, and score the "
            "pipeline's labels on every frame of the walking sessions. Writes label_quality.md/.csv "
            "and figures/ (error map, detector panel) into --out-dir."
        ),
    )
    lq.add_argument("--survey", nargs="+", required=True, help="surveyed-points session folders")
    lq.add_argument("--walk", nargs="*", help="walking sessions whose positions.parquet to score")
    lq.add_argument(
        "--detectors", default="yolo,hog,haar,bgsub", help="comma-separated (default: %(default)s)"
    )
    lq.add_argument("--weights", default="data/models/person_yolo.pt", help="YOLO weights")
    offset = lq.add_mutually_exclusive_group()
    offset.add_argument(
        "--foot-offset-m", type=float, default=0.12, help="foot-point correction to evaluate (m)"
    )
    offset.add_argument(
        "--fit-foot-offset-on", nargs="*", help="fit the correction on these sessions (other people) instead"
    )
    offset.add_argument(
        "--foot-offset-from", metavar="JSON", help="the offset fitted by `lofi fit-foot-offset`"
    )
    lq.add_argument(
        "--foot-point",
        choices=FOOT_POINTS,
        default="upright",
        help="foot-point model of the corrected labels (the plain ones are always bottom_middle) "
        "(default: %(default)s)",
    )
    _add_refine_feet(lq, " of the first detector's corrected labels")
    lq.add_argument("--out-dir", default="results", help="output folder (default: %(default)s)")
    lq.add_argument("--quiet", action="store_true", help="no progress bars")
    lq.set_defaults(func=_cmd_label_quality)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lofi`` command."""
    parser = argparse.ArgumentParser(
        prog="lofi",
        description="LoFi: vision-aided labels and benchmarks for Wi-Fi (ESP32 CSI) localisation.",
    )
    parser.add_argument("--version", action="version", version=f"lofi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    inspect.set_defaults(func=_cmd_inspect)
    _add_simulate(sub)
    preview = sub.add_parser(
        "preview-scene",
        help="render one frame per camera view of a scene file, plus a plan view",
        description="Render a frame per camera view (region outlined in green) and a plan view.",
    )
    preview.add_argument("--scene", default="conf/scene/lab.yaml", help="scene file (default: %(default)s)")
    preview.add_argument(
        "--out", default="scene_preview.png", help="PNG or JPEG to write (default: %(default)s)"
    )
    preview.set_defaults(func=_cmd_preview_scene)
    _add_calibrate(sub)
    _add_labels(sub)
    _add_label_quality(sub)
    _add_fit_foot_offset(sub)
    _add_train_detector(sub)
    add_ingest_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``lofi`` command; returns the exit status (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CsiReadError, ValueError, OSError, KeyError) as err:
        print(f"lofi {args.command}: error: {err}", file=sys.stderr)
        return 2


def run() -> None:
    """Entry point of the ``lofi`` console script.

    Every output is complete (written atomically, fsynced) when :func:`main` returns, so
    the process ends there without interpreter teardown: Arrow's native thread pools can
    abort the process while being torn down at exit ("terminate called without an active
    exception", apache/arrow#34314), which would turn a finished command into a failure.
    """
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    run()
