"""``lofi detect``, ``localize``, ``train-detector``, ``fit-foot-offset`` and ``label-quality``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lofi.cli.options import (
    add_detector,
    add_foot_offset_from,
    add_foot_point,
    add_quiet,
    add_refine_feet,
    add_yolo,
    detector_choice,
    refine_options,
)
from lofi.cli.types import IMGSZ, bounded, non_negative_int, positive_int
from lofi.stages.paths import DEFAULT_FOOT_OFFSET, DEFAULT_WEIGHTS, RESULTS, interim_path, project_default

#: A foot-point offset (m): the shoe edge is ~0.2 m from the body centre; a metre is surely a typo.
foot_offset_m = bounded(float, -1.0, 1.0)


def add_label_commands(sub: argparse._SubParsersAction) -> None:
    """Register detect, localize, label-quality, fit-foot-offset and train-detector."""
    _add_detect(sub)
    _add_localize(sub)
    _add_label_quality(sub)
    _add_fit_foot_offset(sub)
    _add_train_detector(sub)


def _cmd_detect(args: argparse.Namespace) -> int:
    from lofi.stages.detect import run_detect

    session = Path(args.session)
    out = Path(args.out) if args.out else interim_path(session, "detections.parquet", args.root)
    refine = refine_options(args)
    result = run_detect(session, detector_choice(args), out, args.stride, refine, not args.quiet)
    run = result.run
    refined = f", {result.refined:,} box bottoms refined" if refine else ""
    print(
        f"{session.name}: {args.detector} found the person in {result.found:,} of {len(run.table):,} "
        f"frames{refined} ({run.fps:.1f} frames/s, {run.corrupt_frames} corrupt frames skipped) -> {out}"
    )
    return 0


def _add_detect(sub: argparse._SubParsersAction) -> None:
    det = sub.add_parser(
        "detect",
        help="detect the person in every frame of a session (eq. 1)",
        description=(
            "Run a person detector on SESSION/video.mp4 and keep, per frame, the most confident box of "
            "class person (paper eq. 1), or none. Writes data/interim/<session>/detections.parquet."
        ),
    )
    det.add_argument("session", help="raw session folder (video.mp4 + frames.csv)")
    add_detector(det)
    add_yolo(det)
    det.add_argument(
        "--stride", type=positive_int, default=1, help="detect every N-th frame only (default: 1)"
    )
    add_refine_feet(det)
    det.add_argument("--out", help="output parquet (default: data/interim/<session>/detections.parquet)")
    add_quiet(det)
    det.set_defaults(func=_cmd_detect, reads=("session", "weights"), writes=("out",))


def _cmd_localize(args: argparse.Namespace) -> int:
    from lofi.stages.localize import FootOffset, run_localize

    session = Path(args.session)
    detections = (
        Path(args.detections) if args.detections else interim_path(session, "detections.parquet", args.root)
    )
    out = Path(args.out) if args.out else interim_path(session, "positions.parquet", args.root)
    offset = FootOffset(args.foot_offset_m, Path(args.foot_offset_from) if args.foot_offset_from else None)
    result = run_localize(session, detections, out, args.foot_point, offset)
    summary = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    print(f"{session.name}: {len(result.positions):,} frames -> {out} ({summary})")
    return 0


def _add_localize(sub: argparse._SubParsersAction) -> None:
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
        "--foot-offset-m",
        type=foot_offset_m,
        default=0.0,
        help="move labels away from the camera (m, |x| <= 1)",
    )
    add_foot_offset_from(offset)
    add_foot_point(loc, "bottom_middle")
    loc.add_argument("--out", help="output parquet (default: data/interim/<session>/positions.parquet)")
    loc.set_defaults(func=_cmd_localize, reads=("session", "detections", "foot_offset_from"), writes=("out",))


def _cmd_train_detector(args: argparse.Namespace) -> int:
    from lofi.stages.train_detector import run_train_detector
    from lofi.vision.detectors.yolo_train import TrainSettings

    settings = TrainSettings(
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        frames_per_session=args.frames_per_session,
        seed=args.seed,
        device=args.device,
    )
    report = run_train_detector([Path(s) for s in args.session], Path(args.out), settings)
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
            "weights as ONNX (data that cannot run code, unlike a PyTorch .pt pickle) and a JSON report "
            "next to them (SHA-256 of the weights, export settings, metrics, seconds)."
        ),
    )
    tr.add_argument("--session", action="append", required=True, help="detector-training session; repeat")
    tr.add_argument(
        "--out",
        default=project_default(DEFAULT_WEIGHTS),
        help="ONNX weights file, *.onnx (default: %(default)s)",
    )
    tr.add_argument("--epochs", type=positive_int, default=30, help="epochs (default: 30)")
    tr.add_argument("--imgsz", type=IMGSZ, default=320, help="image size in px, 32..4096 (default: 320)")
    tr.add_argument("--batch", type=positive_int, default=4, help="batch size (default: 4)")
    tr.add_argument(
        "--frames-per-session", type=positive_int, default=50, help="frames sampled per session (default: 50)"
    )
    tr.add_argument("--seed", type=non_negative_int, default=0, help="seed, >= 0 (default: 0)")
    tr.add_argument("--device", default="cpu", help="cpu, 0, cuda:0 (default: cpu)")
    tr.set_defaults(func=_cmd_train_detector, reads=("session",), writes=("out",))


def _cmd_fit_foot_offset(args: argparse.Namespace) -> int:
    from lofi.stages.fit_foot_offset import run_fit_foot_offset

    sessions = [Path(p) for p in args.session]
    correction = run_fit_foot_offset(
        sessions, detector_choice(args), Path(args.out), args.foot_point, refine_options(args), not args.quiet
    )
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
    add_detector(fit)
    add_yolo(fit, device=False)
    add_foot_point(fit, "upright")
    add_refine_feet(fit)
    add_quiet(fit)
    fit.add_argument("--out", default=project_default(DEFAULT_FOOT_OFFSET), help="(default: %(default)s)")
    fit.set_defaults(func=_cmd_fit_foot_offset, reads=("session",), writes=("out",))


def _cmd_label_quality(args: argparse.Namespace) -> int:
    from lofi.stages.label_quality import (
        Correction,
        WalkLabels,
        correction_fitted_on,
        correction_from_file,
        run_label_quality,
    )

    detectors = [detector_choice(args, name) for name in args.detectors.split(",")]
    refine = refine_options(args)
    if args.foot_offset_from:
        correction = correction_from_file(Path(args.foot_offset_from), args.foot_point, refine)
    elif args.fit_foot_offset_on:
        fit_on = [Path(p) for p in args.fit_foot_offset_on]
        correction = correction_fitted_on(fit_on, detectors[0], args.foot_point, refine, not args.quiet)
    else:
        correction = Correction(args.foot_point, args.foot_offset_m, refine)
    walks = [WalkLabels(*files) for files in _walk_files(args)]
    summary = run_label_quality(
        [Path(p) for p in args.survey], walks, detectors, correction, Path(args.out_dir), not args.quiet
    )
    print(summary)
    return 0


def _walk_files(args: argparse.Namespace) -> list[tuple[Path, Path, Path]]:
    """``--walk`` sessions with their ``--walk-detections`` and ``--walk-positions`` (same order;
    default: the pipeline's interim files of each session)."""
    walks = [Path(p) for p in args.walk or []]
    detections = [Path(p) for p in args.walk_detections] if args.walk_detections else None
    positions = [Path(p) for p in args.walk_positions] if args.walk_positions else None
    for given, option in ((detections, "--walk-detections"), (positions, "--walk-positions")):
        if given is not None and len(given) != len(walks):
            raise ValueError(f"{option}: {len(given)} files for {len(walks)} --walk sessions")
    return [
        (
            walk,
            detections[k] if detections else interim_path(walk, "detections.parquet", args.root),
            positions[k] if positions else interim_path(walk, "positions.parquet", args.root),
        )
        for k, walk in enumerate(walks)
    ]


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
    lq.add_argument("--walk", nargs="*", help="walking sessions whose labels to score")
    lq.add_argument(
        "--walk-detections",
        nargs="*",
        help="their detections, in --walk order (default: data/interim/<session>/detections.parquet)",
    )
    lq.add_argument(
        "--walk-positions",
        nargs="*",
        help="their positions, in --walk order (default: data/interim/<session>/positions.parquet)",
    )
    lq.add_argument(
        "--detectors", default="yolo,hog,haar,bgsub", help="comma-separated (default: %(default)s)"
    )
    add_yolo(lq)
    offset = lq.add_mutually_exclusive_group()
    offset.add_argument(
        "--foot-offset-m",
        type=foot_offset_m,
        default=0.12,
        help="foot-point correction to evaluate (m, |x| <= 1)",
    )
    offset.add_argument(
        "--fit-foot-offset-on", nargs="*", help="fit the correction on these sessions (other people) instead"
    )
    add_foot_offset_from(offset)
    add_foot_point(lq, "upright", " (of the corrected labels; the plain ones are always bottom_middle)")
    add_refine_feet(lq, " of the first detector's corrected labels")
    lq.add_argument(
        "--out-dir", default=project_default(RESULTS), help="output folder (default: %(default)s)"
    )
    add_quiet(lq)
    lq.set_defaults(
        func=_cmd_label_quality,
        reads=("survey", "walk", "walk_detections", "walk_positions", "fit_foot_offset_on",
               "foot_offset_from", "weights"),
        write_dirs=("out_dir",),
    )  # fmt: skip
