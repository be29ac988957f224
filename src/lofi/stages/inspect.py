"""Stage ``inspect``: a JSON-ready summary of one CSI log (layout, counts, timing, loss, RSSI).

Times come from the device clock after the same clock repair as ``lofi csi``
(:func:`lofi.csi.clock.repair_clocks`): a reboot of the ESP32 starts a new segment (no
loss is counted across it), and a packet logged more than once counts once in the rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lofi.csi.clock import repair_clocks
from lofi.csi.complete import CompletionOptions
from lofi.csi.loss import summarize_loss
from lofi.io.esp32.reader import CsiLog, read_csi_log
from lofi.io.json_report import json_safe, write_json
from lofi.io.session import session_csi_path
from lofi.stages.csi import session_rate_hz

CLOCK_JUMP_S = CompletionOptions().clock_jump_s


@dataclass(frozen=True)
class _Timeline:
    """Distinct packet times (device clock, s, sorted) with their segment, and what was found."""

    t_s: np.ndarray
    segment: np.ndarray
    duplicates: int = 0
    reboots: int = 0
    clock_jumps: int = 0
    bad_host_times: int = 0

    @property
    def segments(self) -> int:
        """Number of segments (1 + reboots), 0 for an empty log."""
        return int(self.segment[-1]) + 1 if len(self.segment) else 0

    @property
    def duration_s(self) -> float:
        """Sum over segments of last minus first packet time (s)."""
        if len(self.t_s) < 2:
            return 0.0
        starts = np.flatnonzero(np.diff(self.segment) != 0) + 1
        first, last = np.concatenate([[0], starts]), np.concatenate([starts - 1, [len(self.t_s) - 1]])
        return float(np.sum(self.t_s[last] - self.t_s[first]))


def _timeline(log: CsiLog) -> _Timeline:
    """Repair the clocks of ``log``, sort by device time and keep one row per device time."""
    if len(log) == 0:
        return _Timeline(np.zeros(0), np.zeros(0, dtype=np.int32))
    table = log.table
    counter = table["local_timestamp"].to_numpy() if "local_timestamp" in table else None
    clocks = repair_clocks(table["t_device"].to_numpy(np.float64), table["t_host"], CLOCK_JUMP_S, counter)
    order = np.argsort(clocks.t_device_s, kind="stable")
    t, segment = clocks.t_device_s[order], clocks.segment[order]
    distinct = np.concatenate([[True], np.diff(t) != 0])
    return _Timeline(
        t[distinct],
        segment[distinct],
        duplicates=int(np.count_nonzero(~distinct)),
        reboots=len(clocks.reboots),
        clock_jumps=len(clocks.jumps),
        bad_host_times=int(np.count_nonzero(clocks.bad_host)),
    )


def summarize(log: CsiLog, rate_hz: float | None = None) -> dict[str, Any]:
    """A JSON-ready summary of a parsed log (times from the device clock; no NaN or infinity).

    ``rate_hz`` (packets per second) is the distinct packets' mean rate within segments,
    ``duration_s`` the summed length of the segments.
    """
    report = log.report
    timeline = _timeline(log)
    duration = timeline.duration_s
    loss = summarize_loss(timeline.t_s, rate_hz, timeline.segment)
    intervals = len(timeline.t_s) - timeline.segments
    rssi = log.table["rssi"].to_numpy() if "rssi" in log.table and len(log) else np.zeros(0)
    summary = {
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
        "rate_hz": round(intervals / duration, 3) if duration > 0 else None,
        "nominal_rate_hz": _finite(loss.rate_hz, 3),
        "lost_packets": loss.lost,
        "loss_pct": _finite(loss.loss_pct, 3),
        "rssi_min_dbm": int(rssi.min()) if len(rssi) else None,
        "rssi_max_dbm": int(rssi.max()) if len(rssi) else None,
        "empty_reason": report.empty_reason,
        "duplicates": timeline.duplicates,
        "reboots": timeline.reboots,
        "clock_jumps": timeline.clock_jumps,
        "bad_host_times": timeline.bad_host_times,
        "segments": timeline.segments,
    }
    return json_safe(summary)


def _finite(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def inspect_path(path: str | Path) -> dict[str, Any]:
    """Read PATH (a CSV, or a session folder whose ``session.yaml`` may give f2) and summarise it."""
    csv = session_csi_path(path)
    rate = session_rate_hz(path) if Path(path).is_dir() else None
    return summarize(read_csi_log(csv), rate)


def run_inspect(path: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Summarise PATH; with ``out``, also write the summary there as JSON (atomically)."""
    summary = inspect_path(path)
    if out is not None:
        write_json(out, summary)
    return summary
