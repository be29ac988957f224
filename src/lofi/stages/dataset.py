"""Stage ``dataset``: every aligned session in one store (``frames.parquet``) with a manifest.

``manifest.json`` explains each session: where its rows are, its subject, loss,
fill method, label coverage and why rows lack labels, the usable training
windows, and the hashes of the sources and settings it was made from.

``frames.parquet`` also carries ``x_true, y_true`` (m): the true position at each row, for
evaluation only. They come from the aligned table when it has them, else from the raw
session's ``truth/pings.parquet`` (synthetic sessions; found beside the ``csi.csv`` named in
``csi.json``'s ``source``, matched as :mod:`lofi.data.truth` describes), else NaN.

Each session's reports must belong to its aligned table: ``csi.json`` and ``aligned.json`` repeat
counts of the table (rows, lost, filled, label-valid rows) and name the ``csi.csv`` and positions
they came from, which the table's provenance (:mod:`lofi.io.provenance`) also records; a
mismatch is refused naming both files. ``fill_method: none`` beside filled rows is refused too,
as are label-valid rows without a finite floor position. :func:`run_dataset` removes the files
it wrote into the data-set folder before but not this time (a ``wiloc.pkl`` of an earlier
``--export-lofi``), so nothing stale stays beside the new data set.

A surveyed-point session (``lofi align --at`` or ``position_m`` in ``session.yaml``: no video, maybe
no host times) has no positions table; its ``aligned.json`` gives ``position_m`` instead, every
label-valid row must lie at that point, and its manifest entry records it as ``position_m``
(null for sessions labelled from video): the ``cross_point`` split holds out whole points.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lofi import __version__
from lofi.data.truth import PING_COLUMNS, truth_at_rows
from lofi.data.windows import WINDOW_FRAMES, usable_windows
from lofi.io.dataset_store import (
    FRAMES_FILE,
    MANIFEST_FILE,
    TRUTH,
    DatasetError,
    load_dataset,
    read_aligned_arrow,
    write_dataset,
)
from lofi.io.esp32.layouts import LLTF_USEFUL
from lofi.io.json_report import JsonFileError, file_sha256, read_json
from lofi.io.lofi_pickles import export_wiloc
from lofi.io.matrix_table import matrix_column
from lofi.io.provenance import read_provenance
from lofi.io.session import TRUTH_PINGS
from lofi.io.tables import MAX_ABS_FLOOR_M
from lofi.stages.paths import PIPELINE_FILL, filled_name

SUBCARRIERS = LLTF_USEFUL.tolist()  # the 52 LLTF subcarriers the data set holds, -26..-1, +1..+26
#: Keys a data set reads from each session's reports, and what each must hold.
CSI_REPORT_KEYS = {
    "source": "text",
    "source_sha256": "text",
    "options": "object",
    "fill_method": "text",
    "loss_pct": "percent",
}
ALIGN_SUMMARY_KEYS = {"positions": "text", "positions_sha256": "text", "tolerance_s": "seconds"}
#: What ``aligned.json`` of a surveyed-point session holds instead (no positions table).
POINT_SUMMARY_KEYS = {"position_m": "point", "tolerance_s": "seconds"}
#: Counts that ``csi.json`` and ``aligned.json`` report and the aligned table must agree with
#: (checked where the report has them: ``lofi import-lofi`` writes fewer).
CSI_COUNTS = ("received", "lost", "filled", "outage_rows")
ALIGN_COUNTS = ("rows", "label_valid", "reasons", "label_dt_abs_p95_ms")
#: The scalar columns a session's manifest entry and checks read.
ENTRY_COLUMNS = ["t_host", "lost", "filled", "outage", "label_valid", "reason", "session", "subject"]
ENTRY_COLUMNS += ["x_m", "y_m", "label_dt"]
WILOC_FILE = "wiloc.pkl"
#: Every file ``lofi dataset`` may write in a data-set folder; one not written this time is removed.
OUTPUTS = (FRAMES_FILE, MANIFEST_FILE, WILOC_FILE)


@dataclass
class SessionInputs:
    """The interim files of one session: aligned table, CSI report, alignment summary.

    ``fill``: the gap filling they were made with; the pipeline's linear fill reads ``csi.json``,
    ``aligned.parquet`` and ``aligned.json``, another fill ``csi_<fill>.json`` and so on.
    """

    aligned: Path
    csi_report: dict
    align_summary: dict
    fill: str = PIPELINE_FILL

    @classmethod
    def from_folder(cls, folder: str | Path, fill: str = PIPELINE_FILL) -> SessionInputs:
        """The aligned table with its CSI report and alignment summary from an interim folder."""
        folder = Path(folder)
        hint = "run `lofi csi` and `lofi align` for this session"
        csi_path = folder / filled_name("csi.json", fill)
        align_path = folder / filled_name("aligned.json", fill)
        try:
            csi_report = read_json(csi_path, hint)
            align_summary = read_json(align_path, hint)
        except JsonFileError as err:
            raise DatasetError(str(err)) from err
        _check_report(csi_report, csi_path, CSI_REPORT_KEYS, "lofi csi")
        keys = POINT_SUMMARY_KEYS if align_summary.get("position_m") is not None else ALIGN_SUMMARY_KEYS
        _check_report(align_summary, align_path, keys, "lofi align")
        return cls(folder / filled_name("aligned.parquet", fill), csi_report, align_summary, fill)

    @property
    def csi_path(self) -> Path:
        """The CSI report beside the aligned table."""
        return self.aligned.parent / filled_name("csi.json", self.fill)

    @property
    def align_path(self) -> Path:
        """The alignment summary beside the aligned table."""
        return self.aligned.parent / filled_name("aligned.json", self.fill)


def _check_report(report: dict, path: Path, keys: dict[str, str], command: str) -> None:
    """Every key of ``keys`` present in ``report`` and of its kind, or an error naming the file."""
    missing = [k for k in keys if k not in report]
    if missing:
        raise DatasetError(
            f"{path}: missing key(s) {', '.join(missing)}: not a report of `{command}` (run it again)"
        )
    for key, kind in keys.items():
        if not _is_kind(report[key], kind):
            raise DatasetError(f"{path}: {key}: expected {_KIND_TEXT[kind]}, got {report[key]!r}")


_KIND_TEXT = {
    "text": "text",
    "object": "a JSON object",
    "percent": "a number from 0 to 100",
    "seconds": "a positive number of seconds or null",
    "point": "[x, y], two finite numbers of metres",
}


def _is_kind(value: object, kind: str) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return {
        "text": isinstance(value, str),
        "object": isinstance(value, dict),
        "percent": number and 0 <= value <= 100,
        "seconds": value is None or (number and value > 0),
        "point": isinstance(value, list) and len(value) == 2 and all(_is_kind(v, "number") for v in value),
        "number": number,
    }[kind]


def build_dataset(
    name: str, sessions: list[SessionInputs], out_dir: str | Path, minimum: Usability | None = None
) -> dict:
    """Write ``frames.parquet`` and ``manifest.json`` under ``out_dir``; returns the manifest.

    With ``minimum``, a data set below its thresholds is refused before anything is written."""
    if not sessions:
        raise DatasetError("a data set needs at least one session")
    tables, entries, start = [], [], 0
    for inputs in sessions:
        table = read_aligned_arrow(inputs.aligned, len(SUBCARRIERS))
        _check_same_schema(table, tables[0] if tables else table, inputs.aligned)
        frame = table.select(ENTRY_COLUMNS).to_pandas()
        amplitude = matrix_column(table.column("amplitude"), f"{inputs.aligned}: column amplitude")
        check_session_inputs(inputs, frame, amplitude)
        entry = _session_entry(frame, inputs, start)
        table = _with_truth(table, inputs, entry)
        entries.append(entry)
        tables.append(table)
        start += len(table)
    _check_unique([e["session"] for e in entries])
    combined = pa.concat_tables(tables).replace_schema_metadata(None)
    manifest = _manifest(name, entries, combined)
    if minimum is not None:
        minimum.check(manifest)
    write_dataset(out_dir, combined, manifest)
    return manifest


@dataclass(frozen=True)
class Usability:
    """What a data set must reach to be worth training on: labelled share (%) and 1-s windows."""

    min_label_coverage_pct: float = 0.0
    min_usable_windows: int = 0

    def check(self, manifest: dict) -> None:
        """Refuse a data set below either threshold, with its numbers (nothing is written)."""
        coverage = float(manifest["label_coverage_pct"])
        windows = sum(int(e["usable_windows"]) for e in manifest["sessions"])
        sessions = manifest["sessions"]
        per_session = ", ".join(f"{e['session']} {e['label_coverage_pct']:.1f} %" for e in sessions)
        if coverage < self.min_label_coverage_pct or windows < self.min_usable_windows:
            raise DatasetError(
                f"data set {manifest['name']!r} is not usable: {coverage:.1f} % of its rows labelled "
                f"(at least {self.min_label_coverage_pct:g} % asked) and {windows} usable 1-s windows "
                f"(at least {self.min_usable_windows} asked); labelled per session: {per_session}. "
                "Too few frames have a "
                "person detected: check the detector (labels.detector, detector_training.epochs)"
            )


def run_dataset(
    name: str,
    interim: list[str | Path],
    out_dir: str | Path,
    export_lofi: bool = False,
    minimum: Usability | None = None,
    fill: str = PIPELINE_FILL,
) -> dict:
    """Build the data set ``out_dir`` from interim folders; with ``export_lofi`` also write ``wiloc.pkl``.

    Returns the manifest, with ``exported`` (records written) when exporting and ``removed``: the
    paths of files an earlier build wrote into ``out_dir`` that this one does not (:data:`OUTPUTS`).
    """
    out = Path(out_dir)
    check_replaceable(out)
    manifest = build_dataset(name, [SessionInputs.from_folder(f, fill) for f in interim], out, minimum)
    written = [FRAMES_FILE, MANIFEST_FILE]
    if export_lofi:
        try:
            manifest = {**manifest, "exported": export_wiloc(load_dataset(out), out / WILOC_FILE)}
        except BaseException:
            remove_stale(out, written)  # the earlier build's export must not stay beside this data set
            raise
        written.append(WILOC_FILE)
    return {**manifest, "removed": remove_stale(out, written)}


def check_replaceable(out_dir: Path) -> None:
    """Refuse a folder holding files of a data set's names that ``lofi dataset`` did not write
    (no manifest of ours beside them): they are someone's, not an earlier build to replace."""
    present = [name for name in OUTPUTS if (out_dir / name).exists()]
    if not present:
        return
    try:
        ours = "lofi_version" in read_json(out_dir / MANIFEST_FILE)
    except JsonFileError:
        ours = False
    if not ours:
        raise DatasetError(
            f"{out_dir}: holds {', '.join(present)} but no manifest.json written by `lofi dataset`; "
            "these are not an earlier build to replace: choose another name or --out-dir"
        )


def remove_stale(out_dir: Path, written: list[str]) -> list[str]:
    """Remove the files of :data:`OUTPUTS` in ``out_dir`` other than ``written``; returns their paths.

    Only the names this stage writes are touched: other files in the folder are the user's.
    """
    removed = []
    for name in OUTPUTS:
        path = out_dir / name
        if name not in written and (path.is_file() or path.is_symlink()):
            path.unlink()
            removed.append(str(path))
    return removed


def check_session_inputs(inputs: SessionInputs, frame: pd.DataFrame, amplitude: np.ndarray) -> None:
    """Refuse reports of another session, a fill method the rows contradict, or a valid row without a
    floor position. ``frame``: the aligned table's :data:`ENTRY_COLUMNS`; ``amplitude``: rows x 52."""
    _check_counts(inputs, frame)
    _check_identity(inputs, str(frame["session"].iloc[0]) if len(frame) else None)
    _check_fill(inputs, frame, amplitude)
    _check_labels(frame, inputs.aligned)
    _check_point(inputs, frame)


def _counts(frame: pd.DataFrame) -> dict[str, object]:
    """What the reports say of an aligned table: rows, received, lost, filled, outage and label-valid
    rows, rows per reason, and the 95th percentile of |label_dt| in ms (as ``lofi align`` rounds it)."""
    lost = frame["lost"].to_numpy(bool)
    reasons = frame["reason"].replace("", "valid").value_counts()
    dt = np.abs(frame["label_dt"].to_numpy(np.float64))
    dt = dt[np.isfinite(dt)]
    return {
        "rows": len(frame),
        "received": int((~lost).sum()),
        "lost": int(lost.sum()),
        "filled": int(frame["filled"].sum()),
        "outage_rows": int(frame["outage"].sum()),
        "label_valid": int(frame["label_valid"].sum()),
        "reasons": {str(k): int(v) for k, v in reasons.items()},
        "label_dt_abs_p95_ms": round(float(np.percentile(dt, 95)) * 1e3, 3) if len(dt) else None,
    }


def _same(reported: object, actual: object) -> bool:
    """A reported value equals the table's (numbers to within the 1e-3 that reports round to)."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (reported, actual))
    return math.isclose(reported, actual, abs_tol=1e-3) if numbers else reported == actual


def _mismatch(report: Path, inputs: SessionInputs, claim: str, actual: str) -> DatasetError:
    return DatasetError(
        f"{report}: {claim}, but {inputs.aligned} has {actual}: the report belongs to another session "
        "or an earlier run (run `lofi csi` and `lofi align` for this session again)"
    )


def _check_counts(inputs: SessionInputs, frame: pd.DataFrame) -> None:
    """Each count that ``csi.json`` / ``aligned.json`` reports equals the aligned table's."""
    counts = _counts(frame)
    for path, report, keys in (
        (inputs.csi_path, inputs.csi_report, CSI_COUNTS),
        (inputs.align_path, inputs.align_summary, ALIGN_COUNTS),
    ):
        for key in keys:
            if key in report and not _same(report[key], counts[key]):
                raise _mismatch(path, inputs, f"{key} = {report[key]!r}", f"{key} = {counts[key]}")


def _check_identity(inputs: SessionInputs, session: str | None) -> None:
    """The session and source hashes the reports name equal those the aligned table records."""
    recorded = read_provenance(inputs.aligned) or {}
    positions_path = inputs.align_summary.get("positions")
    positions = (read_provenance(positions_path) if positions_path is not None else None) or {}
    claims = (
        (
            inputs.csi_path,
            "source_sha256",
            inputs.csi_report.get("source_sha256"),
            recorded.get("csi_csv_sha256"),
        ),
        (inputs.csi_path, "session", inputs.csi_report.get("session"), session),
        (inputs.align_path, "session", inputs.align_summary.get("session"), session),
        (inputs.align_path, "positions' session", positions.get("session"), session),
        (
            inputs.align_path,
            "positions' frames_csv_sha256",
            positions.get("frames_csv_sha256"),
            recorded.get("frames_csv_sha256"),
        ),
    )
    for path, what, claimed, actual in claims:
        if claimed is not None and actual is not None and claimed != actual:
            raise _mismatch(path, inputs, f"{what} is {claimed!r}", f"{actual!r} ({what})")


def _check_fill(inputs: SessionInputs, frame: pd.DataFrame, amplitude: np.ndarray) -> None:
    """``fill_method: none`` only where no lost row holds CSI (else the manifest would say none
    for rows that were filled)."""
    if inputs.csi_report["fill_method"] != "none":
        return
    lost = frame["lost"].to_numpy(bool)
    filled = frame["filled"].to_numpy(bool) | (lost & np.isfinite(amplitude).all(axis=1))
    if filled.any():
        raise _mismatch(
            inputs.csi_path,
            inputs,
            "fill_method is 'none'",
            f"{int(filled.sum())} lost row(s) with filled CSI",
        )


def _check_labels(frame: pd.DataFrame, path: Path) -> None:
    """Every label-valid row has finite ``x_m, y_m`` within :data:`MAX_ABS_FLOOR_M` (m) of the origin."""
    valid = frame["label_valid"].to_numpy(bool)
    for column in ("x_m", "y_m"):
        values = frame[column].to_numpy(np.float64)
        bad = np.flatnonzero(valid & ~(np.abs(values) <= MAX_ABS_FLOOR_M))  # NaN and inf fail the test
        if len(bad):
            row = int(bad[0])
            raise DatasetError(
                f"{path}: session {frame['session'].iloc[row]!r} row {row} (from 0): label-valid {column} = "
                f"{float(values[row])!r} is not a floor position (a valid label needs finite x_m and y_m "
                f"within {MAX_ABS_FLOOR_M:g} m; run `lofi align` again)"
            )


def _check_point(inputs: SessionInputs, frame: pd.DataFrame) -> None:
    """A surveyed-point session's label-valid rows all lie at the ``position_m`` its summary gives."""
    point = inputs.align_summary.get("position_m")
    if point is None:
        return
    valid = frame["label_valid"].to_numpy(bool)
    xy = frame[["x_m", "y_m"]].to_numpy(np.float64)[valid]
    at_point = np.isclose(xy, np.asarray(point, dtype=np.float64), rtol=0.0, atol=1e-9).all(axis=1)
    away = np.flatnonzero(~at_point)
    if len(away):
        x, y = xy[away[0]]
        raise _mismatch(
            inputs.align_path,
            inputs,
            f"position_m = {point!r}",
            f"{len(away)} label-valid row(s) elsewhere (the first at {x:g}, {y:g} m)",
        )


def _check_same_schema(table: pa.Table, first: pa.Table, path: Path) -> None:
    """Every session's columns of the same types as the first session's (else no concatenation)."""
    for field in table.schema:
        expected = first.schema.field(field.name).type
        if not field.type.equals(expected):
            raise DatasetError(
                f"{path}: column {field.name} is {field.type}, but {expected} in the first session"
            )


def _check_unique(names: list[str]) -> None:
    seen = pd.Series(names)
    repeated = sorted(set(seen[seen.duplicated()]))
    if repeated:
        raise DatasetError(f"session(s) given twice: {', '.join(repeated)}")


def _session_entry(frame: pd.DataFrame, inputs: SessionInputs, start: int) -> dict:
    valid = frame["label_valid"].to_numpy(bool)
    report = inputs.csi_report
    reasons = frame["reason"].replace("", "valid").value_counts()
    t = frame["t_host"].to_numpy(np.float64)
    return {
        "session": str(frame["session"].iloc[0]) if len(frame) else inputs.aligned.parent.name,
        "subject": str(frame["subject"].iloc[0]) if len(frame) else "",
        "rows": [start, start + len(frame)],
        "frames": len(frame),
        "duration_s": round(float(np.nanmax(t) - np.nanmin(t)), 3) if np.isfinite(t).any() else None,
        "received": int((~frame["lost"]).sum()),
        "lost": int(frame["lost"].sum()),
        "loss_pct": report.get("loss_pct"),
        "filled": int(frame["filled"].sum()),
        "outage_rows": int(frame["outage"].sum()),
        "fill_method": report.get("fill_method"),
        "keep_sig_modes": (report.get("options") or {}).get("keep_sig_modes"),
        "label_valid": int(valid.sum()),
        "label_coverage_pct": round(100.0 * float(valid.mean()), 3) if len(valid) else 0.0,
        "unlabelled_by_reason": {str(k): int(v) for k, v in reasons.items() if k != "valid"},
        "usable_windows": usable_windows(valid, WINDOW_FRAMES),
        "label_tolerance_s": inputs.align_summary.get("tolerance_s"),
        "position_m": inputs.align_summary.get("position_m"),
        "sources": {
            "csi": report.get("source"),
            "csi_sha256": report.get("source_sha256"),
            "positions": inputs.align_summary.get("positions"),
            "positions_sha256": inputs.align_summary.get("positions_sha256"),
            "aligned_sha256": file_sha256(inputs.aligned),
        },
        "config_hash": _config_hash(report.get("options", {}), inputs.align_summary.get("tolerance_s")),
    }


def _with_truth(table: pa.Table, inputs: SessionInputs, entry: dict) -> pa.Table:
    """``table`` with ``x_true, y_true`` appended (NaN where unknown); notes their source in ``entry``."""
    x, y, source = _aligned_truth(inputs.aligned, table.num_rows)
    if source is None:
        x, y, source = _pings_truth(table, inputs.csi_report)
    entry["sources"]["truth"] = source
    entry["truth_rows"] = int(np.count_nonzero(np.isfinite(x) & np.isfinite(y)))
    return table.append_column(TRUTH[0], pa.array(x, pa.float64())).append_column(
        TRUTH[1], pa.array(y, pa.float64())
    )


def _aligned_truth(path: Path, rows: int) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The aligned table's own truth columns, if it has both (source ``aligned``)."""
    if not set(TRUTH) <= set(pq.read_schema(path).names):
        return np.full(rows, np.nan), np.full(rows, np.nan), None
    truth = pq.read_table(path, columns=list(TRUTH))
    x, y = (truth.column(c).to_numpy().astype(np.float64) for c in TRUTH)
    return x, y, "aligned"


def _pings_truth(table: pa.Table, csi_report: dict) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Truth from the raw session's ``truth/pings.parquet``; all NaN (source None) if absent or unusable."""
    nan = np.full(table.num_rows, np.nan)
    path = Path(str(csi_report.get("source", ""))).parent / TRUTH_PINGS
    try:
        if not path.is_file():
            return nan, nan.copy(), None
        names = pq.read_schema(path).names
        pings = pq.read_table(path, columns=[c for c in (*PING_COLUMNS, "t_host") if c in names])
    except (OSError, pa.ArrowException):
        return nan, nan.copy(), None
    if not set(PING_COLUMNS) <= set(pings.column_names):
        return nan, nan.copy(), None
    rows = table.select(["t_device", "lost", "segment", "t_host_raw"]).to_pandas()
    columns = {c: pings.column(c).to_numpy(zero_copy_only=False) for c in pings.column_names}
    x, y = truth_at_rows(
        rows["t_device"].to_numpy(np.float64),
        rows["lost"].to_numpy(bool),
        rows["segment"].to_numpy(),
        rows["t_host_raw"].to_numpy(np.float64),
        columns,
    )
    return x, y, (str(path) if np.isfinite(x).any() else None)


def _config_hash(options: dict, tolerance_s: float | None) -> str:
    text = json.dumps({"completion": options, "tolerance_s": tolerance_s}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _manifest(name: str, entries: list[dict], combined: pa.Table) -> dict:
    rows = combined.num_rows
    valid = sum(e["label_valid"] for e in entries)
    return {
        "name": name,
        "lofi_version": __version__,
        "files": {"frames": FRAMES_FILE},
        "rows": rows,
        "label_coverage_pct": round(100.0 * valid / rows, 3) if rows else 0.0,
        "columns": combined.column_names,
        "subcarriers": SUBCARRIERS,
        "sessions": entries,
    }
