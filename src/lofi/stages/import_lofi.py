"""Stage ``import-lofi``: the published LoFi data (raw per-person CSV logs or the pickles).

- A folder of raw logs (``<person>/<name>.csv`` in the 28-column esp-radar layout)
  becomes raw session folders without video: ``csi.csv`` + ``session.yaml``. Label
  them later with ``lofi align --positions`` (a table of t_host, x_m, y_m).
- ``wiloc.pkl`` / ``data_sequence.pkl`` (behind an explicit trust flag) become one
  interim folder per person (``aligned.parquet``, ``csi.json``, ``aligned.json``),
  from which ``lofi dataset`` builds a data set. The -1000 pads become NaN.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.fill import fill_rows, rows_in_short_gaps
from lofi.io.esp32.reader import read_csi_log
from lofi.io.json_report import file_sha256, json_after
from lofi.io.lofi_pickles import (
    PublishedRecord,
    load_published_pickle,
    to_record,
)
from lofi.io.session import session_folder, write_yaml, written_by
from lofi.io.tables import write_csi_table

NOMINAL_RATE_HZ = 100.0
IMPORT_COMMAND = "lofi import-lofi"


class LofiImportError(ValueError):
    """Published data cannot be imported (nothing found, unreadable logs)."""


def import_raw_csvs(folder: str | Path, raw_root: str | Path, prefix: str = "lofi") -> list[Path]:
    """Make one raw session per CSV under ``folder`` (the parent folder names the person).

    Every log is read first; if any cannot be imported (no CSI rows: empty, binary, not a
    CSI log), nothing is written and the error lists each such file. Two logs whose
    session names coincide keep both, numbered ``_1``, ``_2``, ... in file order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LofiImportError(f"{folder}: no such folder")
    logs = sorted(p for p in folder.rglob("*.csv") if p.is_file())
    if not logs:
        raise LofiImportError(f"{folder}: no .csv files found")
    people, names = zip(*(_person_and_name(csv, folder, prefix) for csv in logs), strict=True)
    layouts = _read_layouts(logs)
    ids = unique_ids(list(names))
    _check_targets([Path(raw_root) / session_id for session_id in ids])
    sessions = []
    for csv, person, session_id, layout in zip(logs, people, ids, layouts, strict=True):
        out = Path(raw_root) / session_id
        with session_folder(out, IMPORT_COMMAND) as tmp:
            shutil.copyfile(csv, tmp / "csi.csv")
            write_yaml(tmp / "session.yaml", _raw_meta(session_id, person, csv, layout))
        sessions.append(out)
    return sessions


def _read_layouts(logs: list[Path]) -> list[str]:
    """The layout of every log, or one error naming each log without CSI rows."""
    layouts, problems = [], []
    for csv in logs:
        log = read_csi_log(csv)
        if len(log) == 0:
            problems.append(f"{csv}: no CSI rows ({log.report.empty_reason or 'empty'})")
        layouts.append(log.layout)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise LofiImportError(
            f"{len(problems)} of {len(logs)} log(s) cannot be imported, nothing written: {shown}"
        )
    return layouts


def _check_targets(folders: list[Path]) -> None:
    """Refuse, before anything is written, to write into a folder another command made."""
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise LofiImportError(f"{folder}: exists and is not a folder; nothing was imported")
        if folder.is_dir() and any(folder.iterdir()) and written_by(folder) != IMPORT_COMMAND:
            raise LofiImportError(
                f"{folder}: the folder exists and was not written by `{IMPORT_COMMAND}`; nothing was "
                "imported. Choose another --raw-dir or --prefix"
            )


def _person_and_name(csv: Path, folder: Path, prefix: str) -> tuple[str, str]:
    """The person (parent folder, or the file's stem at the top) and the session name of a log."""
    if csv.parent == folder:
        return csv.stem, f"{prefix}_{csv.stem}"
    return csv.parent.name, f"{prefix}_{csv.parent.name}_{csv.stem}"


def unique_ids(names: list[str]) -> list[str]:
    """Folder-safe session ids; names that coincide (after making them safe) are numbered
    ``_1``, ``_2``, ... in order, so no session overwrites another."""
    ids = [_safe_id(n) for n in names]
    counts = Counter(ids)
    used: set[str] = set()
    out = []
    for name in ids:
        if counts[name] > 1:
            number = 1
            while f"{name}_{number}" in used or f"{name}_{number}" in counts:
                number += 1
            name = f"{name}_{number}"
        used.add(name)
        out.append(name)
    return out


def _safe_id(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _raw_meta(session_id: str, person: str, csv: Path, layout: str) -> dict:
    return {
        "id": session_id,
        "kind": "real",
        "subjects": [person],
        "csi_rate_hz": NOMINAL_RATE_HZ,
        "camera_rate_hz": None,
        "csv_layout": layout,
        "source": str(csv),
        "source_sha256": file_sha256(csv),
        "notes": "imported from the published LoFi raw CSI logs; no video",
        "written_by": IMPORT_COMMAND,
    }


def import_pickle(
    path: str | Path,
    interim_root: str | Path,
    trust: bool,
    fill: str = "linear",
    max_gap_s: float = 0.5,
    prefix: str = "lofi",
) -> list[Path]:
    """Convert a published pickle to one interim folder per record; returns the folders.

    Every record is checked before any folder is written. Records of the same person
    keep separate folders, numbered ``_1``, ``_2``, ... in file order.
    """
    path = Path(path)
    if not 0 <= max_gap_s < float("inf"):
        raise ValueError(f"max_gap_s must be a finite number >= 0 s, got {max_gap_s}")
    raws = load_published_pickle(path, trust)
    if not raws:
        raise LofiImportError(f"{path}: the pickle holds no records")
    records = [to_record(raw, index, str(path)) for index, raw in enumerate(raws)]
    names = unique_ids([f"{prefix}_{record.people}" for record in records])
    folders, sha256 = [], file_sha256(path)
    for record, name in zip(records, names, strict=True):
        folder = Path(interim_root) / name
        _write_record(record, folder, (path, sha256), fill, max_gap_s)
        folders.append(folder)
    return folders


def _write_record(
    record: PublishedRecord, folder: Path, source: tuple[Path, str], fill: str, max_gap_s: float
) -> None:
    """One person's interim folder; ``source`` is the pickle and its SHA-256 (hashed once per import)."""
    source, sha256 = source
    t = record.t_device_s
    received = np.isfinite(record.amplitude).all(axis=1)
    to_fill = rows_in_short_gaps(t, received, max_gap_s) if fill != "none" else np.zeros(len(t), bool)
    amplitude = fill_rows(t, record.amplitude, received, to_fill, fill)
    phase = fill_rows(t, record.phase, received, to_fill, fill)
    table = _aligned_scalars(record, folder.name, received, to_fill)
    lost = int((~received).sum())
    report = {
        "source": str(source),
        "source_sha256": sha256,
        "options": {"fill": fill, "max_gap_s": max_gap_s, "imported": True},
        "fill_method": fill,
        "received": int(received.sum()),
        "lost": lost,
        "loss_pct": round(100.0 * lost / len(t), 4) if len(t) else 0.0,
        "filled": int(to_fill.sum()),
    }
    summary = {"positions": str(source), "positions_sha256": sha256, "tolerance_s": None}
    with json_after(folder / "csi.json", report), json_after(folder / "aligned.json", summary):
        write_csi_table(folder / "aligned.parquet", table, amplitude, phase)


def _aligned_scalars(
    record: PublishedRecord, session: str, received: np.ndarray, filled: np.ndarray
) -> pd.DataFrame:
    n = len(record.t_device_s)
    x = record.x_m if record.x_m is not None else np.full(n, np.nan)
    y = record.y_m if record.y_m is not None else np.full(n, np.nan)
    labelled = np.isfinite(x) & np.isfinite(y)
    csi_ok = received | filled
    reason = np.where(~labelled, "no_label", np.where(csi_ok, "", "csi_missing"))
    return pd.DataFrame(
        {
            "t_host": np.full(n, np.nan),
            "t_host_raw": np.full(n, np.nan),
            "t_device": record.t_device_s,
            "seq": pd.array(np.full(n, pd.NA), dtype="Int64"),
            "rssi": np.full(n, np.nan, dtype=np.float32),
            "lost": ~received,
            "filled": filled,
            "outage": ~received & ~filled,
            "segment": np.zeros(n, dtype=np.int32),
            "frame": np.full(n, -1, dtype=np.int64),
            "x_m": np.where(labelled, x, np.nan),
            "y_m": np.where(labelled, y, np.nan),
            "label_dt": np.full(n, np.nan),
            "label_valid": reason == "",
            "reason": reason,
            "subject": record.people,
            "session": session,
        }
    )
