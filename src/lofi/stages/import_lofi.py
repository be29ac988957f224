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
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.fill import fill_rows, rows_in_short_gaps
from lofi.io.esp32.reader import read_csi_log
from lofi.io.json_report import file_sha256, write_json
from lofi.io.lofi_pickles import (
    PublishedRecord,
    load_published_pickle,
    to_record,
)
from lofi.io.session import session_folder, write_yaml
from lofi.io.tables import write_csi_table

NOMINAL_RATE_HZ = 100.0


class LofiImportError(ValueError):
    """Published data cannot be imported (nothing found, unreadable logs)."""


def import_raw_csvs(folder: str | Path, raw_root: str | Path, prefix: str = "lofi") -> list[Path]:
    """Make one raw session per CSV under ``folder`` (the parent folder names the person)."""
    folder = Path(folder)
    logs = sorted(p for p in folder.rglob("*.csv") if p.is_file())
    if not logs:
        raise LofiImportError(f"{folder}: no .csv files found")
    sessions = []
    for csv in logs:
        nested = csv.parent != folder
        person = csv.parent.name if nested else csv.stem
        session_id = _safe_id(f"{prefix}_{person}_{csv.stem}" if nested else f"{prefix}_{person}")
        log = read_csi_log(csv)
        if len(log) == 0:
            raise LofiImportError(f"{csv}: no CSI rows ({log.report.empty_reason or 'empty'})")
        out = Path(raw_root) / session_id
        with session_folder(out, "lofi import-lofi") as tmp:
            shutil.copyfile(csv, tmp / "csi.csv")
            write_yaml(tmp / "session.yaml", _raw_meta(session_id, person, csv, log.report.layout))
        sessions.append(out)
    return sessions


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
        "written_by": "lofi import-lofi",
    }


def import_pickle(
    path: str | Path,
    interim_root: str | Path,
    trust: bool,
    fill: str = "linear",
    max_gap_s: float = 0.5,
    prefix: str = "lofi",
) -> list[Path]:
    """Convert a published pickle to one interim folder per person; returns the folders."""
    path = Path(path)
    raws = load_published_pickle(path, trust)
    if not raws:
        raise LofiImportError(f"{path}: the pickle holds no records")
    folders = []
    for index, raw in enumerate(raws):
        record = to_record(raw, index, str(path))
        folder = Path(interim_root) / _safe_id(f"{prefix}_{record.people}")
        _write_record(record, folder, path, fill, max_gap_s)
        folders.append(folder)
    return folders


def _write_record(record: PublishedRecord, folder: Path, source: Path, fill: str, max_gap_s: float) -> None:
    t = record.t_device_s
    received = np.isfinite(record.amplitude).all(axis=1)
    to_fill = rows_in_short_gaps(t, received, max_gap_s) if fill != "none" else np.zeros(len(t), bool)
    amplitude = fill_rows(t, record.amplitude, received, to_fill, fill)
    phase = fill_rows(t, record.phase, received, to_fill, fill)
    table = _aligned_scalars(record, folder.name, received, to_fill)
    write_csi_table(folder / "aligned.parquet", table, amplitude, phase)
    lost = int((~received).sum())
    write_json(
        folder / "csi.json",
        {
            "source": str(source),
            "source_sha256": file_sha256(source),
            "options": {"fill": fill, "max_gap_s": max_gap_s, "imported": True},
            "fill_method": fill,
            "received": int(received.sum()),
            "lost": lost,
            "loss_pct": round(100.0 * lost / len(t), 4) if len(t) else 0.0,
            "filled": int(to_fill.sum()),
        },
    )
    write_json(
        folder / "aligned.json",
        {"positions": str(source), "positions_sha256": file_sha256(source), "tolerance_s": None},
    )


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
