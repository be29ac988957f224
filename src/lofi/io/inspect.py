"""Summaries of a CSI log for ``lofi inspect``: layout, counts, timing, loss, RSSI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lofi.csi.loss import summarize_loss
from lofi.io.csi_reader import CsiLog, CsiReadError, read_csi_log

SESSION_CSI = "csi.csv"
SESSION_META = "session.yaml"


def resolve_csi_path(path: str | Path) -> tuple[Path, float | None]:
    """The CSV to read for PATH (a CSV or a session folder) and the nominal rate, if known."""
    path = Path(path)
    if not path.exists():
        raise CsiReadError(f"{path}: no such file or folder")
    if not path.is_dir():
        return path, None
    csv = path / SESSION_CSI
    if not csv.is_file():
        raise CsiReadError(f"{path}: a session folder must hold {SESSION_CSI}")
    return csv, _nominal_rate(path / SESSION_META)


def _nominal_rate(meta_path: Path) -> float | None:
    if not meta_path.is_file():
        return None
    try:
        meta = yaml.safe_load(meta_path.read_text()) or {}
    except yaml.YAMLError as err:
        raise CsiReadError(f"{meta_path}: not valid YAML ({err})") from err
    rate = meta.get("csi_rate_hz") if isinstance(meta, dict) else None
    return float(rate) if isinstance(rate, int | float) and rate > 0 else None


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
    """Read PATH (CSV or session folder) and summarise it."""
    csv, rate = resolve_csi_path(path)
    return summarize(read_csi_log(csv), rate)


def format_summary(summary: dict[str, Any]) -> str:
    """The human-readable form printed by ``lofi inspect``."""
    reasons = ", ".join(f"{k} {v}" for k, v in summary["skipped_by_reason"].items()) or "none"
    lines = [
        f"{summary['source']}",
        f"  layout          {summary['layout']}",
        f"  rows kept       {summary['rows']:,} of {summary['lines']:,} lines",
        f"  rows skipped    {summary['skipped']:,} ({reasons})",
        f"  subcarriers     {summary['subcarriers']}",
    ]
    if summary["rows"] == 0:
        lines.append(f"  empty because   {summary['empty_reason']}")
        return "\n".join(lines)
    rate = summary["rate_hz"]
    lines += [
        f"  duration        {summary['duration_s']:.3f} s (device clock)",
        f"  packet rate     {rate:.2f} Hz" if rate else "  packet rate     n/a",
        f"  loss (eq. 4)    {_pct(summary['loss_pct'])} ({summary['lost_packets']:,} packets, "
        f"nominal {summary['nominal_rate_hz']} Hz)",
        f"  RSSI            {summary['rssi_min_dbm']} .. {summary['rssi_max_dbm']} dBm",
    ]
    for note, count in summary["notes"].items():
        if count:
            lines.append(f"  note            {note}: {count:,}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"
