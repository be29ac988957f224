"""Stage ``inspect``: a JSON-ready summary of one CSI log (layout, counts, timing, loss, RSSI)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lofi.csi.loss import summarize_loss
from lofi.io.esp32.reader import CsiLog, read_csi_log
from lofi.io.json_report import write_json
from lofi.io.session import read_session_meta, session_csi_path


def summarize(log: CsiLog, rate_hz: float | None = None) -> dict[str, Any]:
    """A JSON-ready summary of a parsed log (times from the device clock)."""
    report = log.report
    t = np.sort(log.table["t_device"].to_numpy()) if len(log) else np.zeros(0)
    duration = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    loss = summarize_loss(t, rate_hz)
    rssi = log.table["rssi"].to_numpy() if "rssi" in log.table and len(log) else np.zeros(0)
    return {
        "source": report.source,
        "layout": report.layout,
        "lines": report.lines,
        "rows": report.rows,
        "skipped": report.skipped,
        "skipped_by_reason": report.skipped_by_reason,
        "field_problems": report.field_problems,
        "notes": report.notes,
        "subcarriers": len(log.subcarriers),
        "duration_s": round(duration, 6),
        "rate_hz": round((len(t) - 1) / duration, 3) if duration > 0 else None,
        "nominal_rate_hz": _finite(loss.rate_hz, 3),
        "lost_packets": loss.lost,
        "loss_pct": _finite(loss.loss_pct, 3),
        "rssi_min_dbm": int(rssi.min()) if len(rssi) else None,
        "rssi_max_dbm": int(rssi.max()) if len(rssi) else None,
        "empty_reason": report.empty_reason,
    }


def _finite(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def inspect_path(path: str | Path) -> dict[str, Any]:
    """Read PATH (a CSV, or a session folder whose ``session.yaml`` may give f2) and summarise it."""
    csv = session_csi_path(path)
    rate = read_session_meta(path).csi_rate_hz if Path(path).is_dir() else None
    return summarize(read_csi_log(csv), rate)


def run_inspect(path: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Summarise PATH; with ``out``, also write the summary there as JSON (atomically)."""
    summary = inspect_path(path)
    if out is not None:
        write_json(out, summary)
    return summary
