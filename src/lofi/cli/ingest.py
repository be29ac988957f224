"""``lofi csi``, ``align``, ``dataset`` and ``import-lofi``: CSI completion, labels, data sets."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lofi.cli.types import bounded, folder_name, non_negative_float, non_negative_int, positive_float
from lofi.csi.choices import DEFAULT_KEEP_SIG_MODES, FILL_METHODS, MAX_RATE_HZ, parse_keep_sig_modes
from lofi.stages.paths import (
    INTERIM,
    PIPELINE_FILL,
    PROCESSED,
    RAW,
    filled_name,
    interim_path,
    project_default,
)


def add_ingest_commands(sub: argparse._SubParsersAction) -> None:
    """Register csi, align, dataset and import-lofi."""
    _add_csi(sub)
    _add_align(sub)
    _add_dataset(sub)
    _add_import(sub)


def _cmd_csi(args: argparse.Namespace) -> int:
    from lofi.csi.complete import CompletionOptions
    from lofi.stages.csi import run_csi

    options = CompletionOptions(
        fill=args.fill,
        rate_hz=args.rate_hz,
        max_gap_s=args.max_gap_s,
        max_insert_s=args.max_insert_s,
        clock_jump_s=args.clock_jump_s,
        keep_sig_modes=args.keep_sig_modes,
    )
    default = filled_name("csi.parquet", args.fill)  # another fill's table sits beside the pipeline's
    out = Path(args.out) if args.out else interim_path(args.session, default, args.root)
    result = run_csi(args.session, options, out, args.checkpoint)
    print(format_csi_report(Path(args.session).name, result.report, out, result.report_path))
    return 0


def _drift(ppm: float | None) -> str:
    """The fitted drift, or why there is none (a log too short to tell drift from jitter)."""
    return f"{ppm:+.2f} ppm" if ppm is not None else "not fitted (too short a log to tell drift from jitter)"


def keep_sig_modes(text: str) -> str:
    """An argparse type: ``auto``, ``dominant``, ``all`` or a list of sig_mode values (``0,1``)."""
    try:
        return parse_keep_sig_modes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def format_sig_modes(sig_modes: dict | None) -> str | None:
    """One line on the sig_mode sub-streams, where the log has more than one (else None)."""
    if not sig_modes or len(sig_modes["streams"]) < 2:
        return None
    parts = []
    for s in sig_modes["streams"]:
        interval = f", median interval {s['median_interval_ms']:g} ms" if s["median_interval_ms"] else ""
        slots = f", fills {s['fills']:,} missing slots" if s["fills"] is not None else ""
        parts.append(f"{s['sig_mode']}: {s['rows']:,} rows {s['decision']} ({s['rule']}{interval}{slots})")
    period = f", ping period {sig_modes['period_ms']:g} ms" if sig_modes.get("period_ms") else ""
    return f"  sig_mode ({sig_modes['setting']}{period}): " + "; ".join(parts)


def format_csi_report(name: str, report: dict, out: Path, report_path: Path) -> str:
    """One-paragraph summary of a completion report."""
    dropped = {k: v for k, v in report["dropped"].items() if v}
    fit = report.get("host_fit") or {}
    r = report
    lines = [
        f"{name}: {r['received']:,} pings received, {r['lost']:,} lost ({r['loss_pct']:.2f} %, "
        f"f2 {r['rate_hz']:g} Hz {r['rate_source']}); {r['filled']:,} filled ({r['fill_method']}), "
        f"{r['outage_rows']:,} left NaN in {r['outages']} outage(s) -> {out}",
        f"  log lines skipped {report['lines_skipped']:,} {report['lines_skipped_by_reason'] or ''}".rstrip()
        + f"; fields repaired {report.get('fields_repaired') or 0}; rows dropped {dropped or 0}; "
        f"clock jumps {r['clock_jumps']}; reboots {r['reboots']}; bad host times {r['bad_host_times']}; "
        f"reordered {r['reordered']}; segments {r['segments']}",
    ]
    sig_modes = format_sig_modes(report.get("sig_modes"))
    if sig_modes:
        lines.append(sig_modes)
    if fit:
        lines.append(
            f"  host clock fit: drift {_drift(fit['drift_ppm'])}, "
            f"residual rms {fit['residual_rms_ms']:.2f} ms "
            f"(MAD {fit['residual_mad_ms']:.2f} ms, {fit['outliers']} outliers); report {report_path}"
        )
    else:
        lines.append(f"  no host timestamps: the CSI cannot be aligned to video; report {report_path}")
    if r.get("fill_detail"):
        lines.append(f"  {r['fill_detail']}")
    return "\n".join(lines)


def report_beside(args: argparse.Namespace) -> list[Path]:
    """The JSON report a table's ``--out`` gets beside it (``x.parquet`` -> ``x.json``)."""
    return [Path(args.out).with_suffix(".json")] if args.out else []


def _input_reports(args: argparse.Namespace) -> list[Path]:
    """The reports beside the tables align reads (csi.json beside csi.parquet): inputs too."""
    return [Path(p).with_suffix(".json") for p in (args.csi, args.positions) if p]


def _dataset_folder(args: argparse.Namespace) -> list[Path]:
    """The data set's own folder: ``--out-dir``/NAME."""
    return [Path(args.out_dir) / args.name]


def _add_csi(sub: argparse._SubParsersAction) -> None:
    csi = sub.add_parser(
        "csi",
        help="complete a session's CSI: losses found (eq. 4), rows inserted and filled",
        description=(
            "Read SESSION/csi.csv, keep the ping replies (dominant MAC; the sig_mode sub-streams chosen by "
            "--keep-sig-modes), drop duplicate rows, "
            "repair device-clock jumps, find lost packets from device-time gaps (paper eq. 4), insert their "
            "rows at evenly spaced times and fill them. Host times come from a robust device-to-host clock "
            "fit. Writes data/interim/<session>/csi.parquet and a report csi.json beside it."
        ),
    )
    csi.add_argument("session", help="raw session folder (csi.csv, session.yaml)")
    csi.add_argument(
        "--fill",
        choices=FILL_METHODS,
        default="linear",
        help="gap filling (default: %(default)s); csibert recovers the amplitude with a pre-trained "
        "CSI-BERT (--checkpoint) and fills phase and RSSI linearly",
    )
    csi.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="CSI-BERT recovery file for --fill csibert: csibert_recovery.pt of a "
        "`python -m lofi.train experiment=csibert_pretrain` run (read without running pickled code)",
    )
    csi.add_argument(
        "--rate-hz",
        type=bounded(float, 0.0, MAX_RATE_HZ, low_open=True),
        help=f"ping rate f2 in Hz, > 0 and <= {MAX_RATE_HZ:g} "
        "(default: session.yaml csi_rate_hz, else estimated)",
    )
    csi.add_argument(
        "--max-gap-s",
        type=non_negative_float,
        default=0.5,
        help="longer gaps stay NaN as outages (default: %(default)s s)",
    )
    csi.add_argument(
        "--max-insert-s",
        type=positive_float,
        default=60.0,
        help="longer gaps get no rows and start a new segment (default: %(default)s s)",
    )
    csi.add_argument(
        "--clock-jump-s",
        type=positive_float,
        default=1.0,
        help="device vs host interval mismatch that counts as a clock jump (default: %(default)s s)",
    )
    csi.add_argument(
        "--keep-sig-modes",
        type=keep_sig_modes,
        default=DEFAULT_KEEP_SIG_MODES,
        metavar="auto|dominant|all|0,1",
        help="which sig_mode sub-streams of the pinged MAC are pings: auto judges each minority one by its "
        "timing (beacons every ~102.4 ms or frames between the pings are dropped as 'beacon', a sub-stream "
        "that fills the ping slots is kept); dominant keeps the most frequent sig_mode only; all keeps "
        "every one; a list such as 0,1 keeps those (default: %(default)s)",
    )
    csi.add_argument(
        "--out",
        help="output parquet (default: data/interim/<session>/csi.parquet; csi_<fill>.parquet for another "
        "--fill than linear), its report .json beside it",
    )
    csi.set_defaults(
        func=_cmd_csi, reads=("session", "checkpoint"), writes=("out",), more_writes=report_beside
    )


def _cmd_align(args: argparse.Namespace) -> int:
    from lofi.stages.align import run_align

    csi = Path(args.csi) if args.csi else interim_path(args.session, "csi.parquet", args.root)
    default = interim_path(args.session, "positions.parquet", args.root)
    positions = Path(args.positions) if args.positions else default
    if args.at is not None or (not args.positions and not default.exists()):
        positions = None  # a surveyed point: --at, else session.yaml's position_m
    out = Path(args.out) if args.out else interim_path(args.session, "aligned.parquet", args.root)
    s = run_align(args.session, csi, positions, out, args.tolerance_s, args.at).summary
    reasons = ", ".join(f"{k} {v:,}" for k, v in s["reasons"].items())
    if s.get("position_m") is not None:
        x, y = s["position_m"]
        how = f"surveyed point {x:g},{y:g} m from {s['position_source']}"
    else:
        how = f"tolerance {s['tolerance_s'] * 1e3:.1f} ms"
    print(
        f"{Path(args.session).name}: {s['rows']:,} CSI rows, {s['coverage_pct']:.1f} % labelled "
        f"({how}; {reasons}) -> {out}"
    )
    return 0


def floor_point(text: str) -> tuple[float, float]:
    """An argparse type: ``X,Y``, a floor point in m (two finite numbers)."""
    parts = text.split(",")
    try:
        point = tuple(float(p) for p in parts)
    except ValueError:
        point = ()
    if len(point) != 2 or not all(math.isfinite(v) for v in point):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a floor point X,Y: expected two finite numbers of metres in the floor "
            "region's frame, e.g. 0.9,2.4"
        )
    return point


def _add_align(sub: argparse._SubParsersAction) -> None:
    align = sub.add_parser(
        "align",
        help="label every CSI row with the nearest camera frame (eq. 5)",
        description=(
            "Give each row of csi.parquet the position of the nearest camera frame (paper eq. 5) when it "
            "lies within the tolerance, else label_valid=False with a reason. A session recorded at one "
            "surveyed point (no video) labels every row at that point: --at X,Y, or position_m in "
            "session.yaml when there is no positions table. Writes aligned.parquet and "
            "aligned.json (coverage, reasons, |label_dt| p95)."
        ),
    )
    align.add_argument(
        "session",
        help="raw session folder (its session.yaml gives camera_rate_hz, or position_m for a session "
        "recorded at one surveyed point)",
    )
    align.add_argument("--csi", help="csi.parquet (default: data/interim/<session>/csi.parquet)")
    labels = align.add_mutually_exclusive_group()
    labels.add_argument(
        "--positions",
        help="positions.parquet, or a CSV of t_host, x_m, y_m "
        "(default: data/interim/<session>/positions.parquet; without it, session.yaml's position_m)",
    )
    labels.add_argument(
        "--at",
        type=floor_point,
        metavar="X,Y",
        help="label every row at this surveyed floor point (m, in the floor region's frame): a session "
        "recorded standing at one marked point; needs no video and no host timestamps (a negative X: "
        "--at=-0.2,1)",
    )
    align.add_argument(
        "--tolerance-s", type=positive_float, help="largest |label_dt|, s (default: one camera period)"
    )
    align.add_argument("--out", help="output parquet (default: data/interim/<session>/aligned.parquet)")
    align.set_defaults(
        func=_cmd_align,
        reads=("session", "csi", "positions"),
        more_reads=_input_reports,
        writes=("out",),
        more_writes=report_beside,
    )


def _cmd_dataset(args: argparse.Namespace) -> int:
    from lofi.stages.dataset import Usability, run_dataset

    out = Path(args.out_dir) / args.name
    minimum = Usability(args.min_label_coverage_pct, args.min_usable_windows)
    manifest = run_dataset(args.name, args.interim, out, args.export_lofi, minimum, args.fill)
    for entry in manifest["sessions"]:
        print(
            f"  {entry['session']}: {entry['frames']:,} frames, loss {entry['loss_pct']:.2f} % "
            f"({entry['fill_method']}), labelled {entry['label_coverage_pct']:.1f} %, "
            f"{entry['usable_windows']} usable 1-s windows"
        )
    print(
        f"{args.name}: {len(manifest['sessions'])} sessions, {manifest['rows']:,} frames, "
        f"{manifest['label_coverage_pct']:.1f} % labelled -> {out}"
    )
    if args.export_lofi:
        print(f"  LoFi-compatible export: {manifest['exported']} records (-1000 pads) -> {out / 'wiloc.pkl'}")
    for path in manifest.get("removed", []):
        print(f"  removed {path}: an earlier build's output that this build does not write")
    return 0


def _add_dataset(sub: argparse._SubParsersAction) -> None:
    ds = sub.add_parser(
        "dataset",
        help="gather aligned sessions into one data set with a manifest",
        description=(
            "Concatenate the aligned sessions into data/processed/NAME/frames.parquet (amplitude and "
            "phase as rows x 52 columns) and write manifest.json: per session its rows, subject, loss, "
            "fill method, label coverage, reasons for unlabelled rows, usable 1-s windows, and the "
            "source and config hashes."
        ),
    )
    ds.add_argument("name", type=folder_name, help="data set name: one folder name, made under --out-dir")
    ds.add_argument(
        "--interim",
        nargs="+",
        required=True,
        help="interim session folders (aligned.parquet, csi.json, aligned.json)",
    )
    ds.add_argument(
        "--out-dir", default=project_default(PROCESSED), help="parent folder (default: %(default)s)"
    )
    ds.add_argument(
        "--export-lofi", action="store_true", help="also write wiloc.pkl shaped like the published one"
    )
    ds.add_argument(
        "--fill",
        choices=FILL_METHODS,
        default=PIPELINE_FILL,
        help="read the tables of this gap filling (csi_<fill>.json, aligned_<fill>.parquet, ...; "
        "default: %(default)s, the pipeline's csi.json, aligned.parquet, aligned.json)",
    )
    ds.add_argument(
        "--min-label-coverage-pct",
        type=bounded(float, 0.0, 100.0),
        default=0.0,
        help="refuse a data set with fewer rows labelled than this (%%; default: %(default)s)",
    )
    ds.add_argument(
        "--min-usable-windows",
        type=non_negative_int,
        default=0,
        help="refuse a data set with fewer usable 1-s windows than this (default: %(default)s)",
    )
    ds.set_defaults(func=_cmd_dataset, reads=("interim",), more_write_dirs=_dataset_folder)


def _cmd_import_lofi(args: argparse.Namespace) -> int:
    from lofi.stages.import_lofi import import_pickle, import_raw_csvs

    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder (give a folder of CSV logs or a .pkl file)")
    if path.is_dir():
        sessions = import_raw_csvs(path, args.raw_dir, args.prefix)
        print(f"{path}: {len(sessions)} raw session(s) without video -> {args.raw_dir}")
        for session in sessions:
            print(f"  {session}")
        return 0
    folders = import_pickle(path, args.interim_dir, args.trust_pickle, args.fill, args.max_gap_s, args.prefix)
    print(f"{path}: {len(folders)} record(s) -> {args.interim_dir}; build a data set with:")
    print(f"  lofi dataset NAME --interim {' '.join(str(f) for f in folders)}")
    return 0


def _add_import(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser(
        "import-lofi",
        help="import the published LoFi data (raw CSV folder, wiloc.pkl or data_sequence.pkl)",
        description=(
            "PATH is a folder of raw per-person CSI logs (<person>/<name>.csv, 28-column esp-radar layout), "
            "which become raw sessions without video, or a published pickle (wiloc.pkl, data_sequence.pkl), "
            "which becomes one interim folder per person for `lofi dataset`. Pickles can run code "
            "when loaded: they are read only with --trust-pickle, and then only plain data is rebuilt."
        ),
    )
    imp.add_argument("path", help="folder of CSV logs, or a .pkl file")
    imp.add_argument("--trust-pickle", action="store_true", help="allow loading a pickle you trust")
    imp.add_argument(
        "--raw-dir", default=project_default(RAW), help="where CSV sessions go (default: %(default)s)"
    )
    imp.add_argument(
        "--interim-dir",
        default=project_default(INTERIM),
        help="where pickle data goes (default: %(default)s)",
    )
    imp.add_argument(
        "--fill",
        choices=[m for m in FILL_METHODS if m != "csibert"],
        default="linear",
        help="fill the -1000 pads",
    )
    imp.add_argument(
        "--max-gap-s",
        type=non_negative_float,
        default=0.5,
        help="longer pad runs stay NaN (default: %(default)s s)",
    )
    imp.add_argument(
        "--prefix", type=folder_name, default="lofi", help="session name prefix (default: %(default)s)"
    )
    imp.set_defaults(
        func=_cmd_import_lofi, reads=("path",), write_dirs=("raw_dir", "interim_dir"), raw_files=None
    )  # it makes raw sessions
