"""Turn a raw ESP32 serial capture into batches of clean CSV rows.

Clean files (one optional header at the top, nothing but complete ``CSI_DATA``
rows) take a vectorised fast path: the bytes go to the CSV parser untouched. Raw
serial captures take a line-by-line path that strips ANSI escapes and ``csi>``
prompts, drops ESP-IDF log lines (also when spliced into a CSI row), re-joins rows
broken over several lines, and quotes every data array so that comma-separated
arrays survive CSV splitting. Every line that is not kept is counted by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from lofi.io.esp32.layouts import (
    HOST_TIME_COLUMN,
    LAYOUT_BY_PREFIX_FIELDS,
    canonical_columns,
    classify_header,
    header_columns,
)

ROW_START = "CSI_DATA"
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_LOG = re.compile(r"[IWEDV] \([\d:.]+\) ")
_PROMPT = re.compile(r"^(?:\s*csi>\s*)+")
_MAX_CONTINUATIONS = 3
#: Bytes a clean CSV log is made of (no escapes, CRs, prompts or log lines).
_PLAIN_BYTES = bytes(b for b in range(32, 127) if b not in b"(>") + b"\n"
_MAX_EXAMPLES = 20


@dataclass
class RowBatch:
    """Rows sharing one column list: newline-separated CSV text (valid UTF-8), data arrays quoted.

    The rows are ``blob[start:]`` (a clean file is used as it is, past its header).
    """

    layout: str
    columns: list[str]
    blob: bytes
    n_rows: int
    start: int = 0

    def rows(self) -> pa.BufferReader:
        """The rows as a file Arrow can read (no copy)."""
        return pa.BufferReader(pa.py_buffer(self.blob).slice(self.start))

    def first_row(self) -> bytes:
        """The first row, without its newline."""
        end = self.blob.find(b"\n", self.start)
        return self.blob[self.start : end if end >= 0 else len(self.blob)]


@dataclass
class LineReport:
    """What happened to the lines that did not become CSI rows."""

    skipped: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    examples: list[tuple[int, str, str]] = field(default_factory=list)
    lines: int = 0

    def skip(self, reason: str, line_no: int | None = None, text: str = "") -> None:
        """Count one skipped line and keep a few examples for the report."""
        self.skipped[reason] += 1
        if len(self.examples) < _MAX_EXAMPLES:
            self.examples.append((line_no or 0, reason, text[:80]))


def split_capture(raw: bytes) -> tuple[list[RowBatch], LineReport]:
    """Split raw capture bytes into row batches and a report of skipped lines."""
    report = LineReport()
    fast = _fast_path(raw, report)
    if fast is not None:
        return fast, report
    return _slow_path(raw, report), report


# -- fast path ----------------------------------------------------------------------


def _fast_path(raw: bytes, report: LineReport) -> list[RowBatch] | None:
    """Batches for a clean file, or ``None`` when the line-by-line path is needed."""
    if not raw.isascii() or raw.translate(None, _PLAIN_BYTES):
        return None
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    nonblank = ends > starts
    starts, ends = starts[nonblank], ends[nonblank]
    if len(starts) == 0:
        return None
    header: list[str] | None = None
    body_from = 0
    if raw.startswith(b"type,"):
        header = canonical_columns(raw[: ends[0]].decode("ascii").split(","))
        starts, ends, body_from = starts[1:], ends[1:], int(ends[0]) + 1
    if len(starts) == 0 or not _all_rows_start_clean(buf, starts, ends):
        return None
    first = raw[starts[0] : ends[0]]
    if not _data_field_is_safe(first):
        return None
    layout, columns = _columns_for(header, first.decode("ascii"))
    if columns is None:
        return None
    report.lines = len(starts) + (header is not None)
    return [RowBatch(layout, columns, raw, len(starts), start=body_from)]


def _all_rows_start_clean(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """True if every line starts with ``CSI_DATA`` and ends with ``]`` or ``]"``."""
    if np.any(ends - starts < len(ROW_START) + 2):
        return False
    for k, byte in enumerate(ROW_START.encode()):
        if not np.all(buf[starts + k] == byte):
            return False
    last = buf[ends - 1]
    closed = (last == ord("]")) | ((last == ord('"')) & (buf[ends - 2] == ord("]")))
    return bool(np.all(closed))


def _data_field_is_safe(row: bytes) -> bool:
    """A data array can be CSV-split as one field: quoted, or free of commas."""
    i = row.find(b"[")
    if i < 0 or row.count(b"[") != 1:
        return False
    return row[i - 1 : i] == b'"' or b"," not in row[i:]


# -- line-by-line path ----------------------------------------------------------------


def _slow_path(raw: bytes, report: LineReport) -> list[RowBatch]:
    text = _ANSI.sub(b"", raw).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = text.decode("utf-8", errors="replace").split("\n")
    report.lines = len(lines)
    collector = _RowCollector(report)
    for line_no, line in enumerate(lines, start=1):
        collector.feed(line_no, line)
    collector.finish()
    return collector.batches()


class _RowCollector:
    """State machine that assembles complete, normalised CSI rows from lines."""

    def __init__(self, report: LineReport) -> None:
        self.report = report
        self.header: list[str] | None = None
        self.pending: str | None = None
        self.pending_line = 0
        self.continuations = 0
        self.groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def feed(self, line_no: int, line: str) -> None:
        line = _PROMPT.sub("", line).strip()
        if not line:
            return
        log = _LOG.search(line)
        if log is not None:
            if log.start() == 0 or not (line.startswith(ROW_START) or self.pending):
                self.report.skip("log_line", line_no, line)
                return
            self.report.notes["log_text_cut_from_row"] += 1
            line = line[: log.start()]
        if line.startswith("type,"):
            self._drop_pending()
            self.header = canonical_columns(line.split(","))
            self.report.notes["header_lines"] += 1
            return
        if ROW_START in line and not line.startswith(ROW_START):
            self.report.notes["text_cut_before_row"] += 1
            line = line[line.index(ROW_START) :]
        if line.startswith(ROW_START):
            self._drop_pending()
            self.pending, self.pending_line, self.continuations = line, line_no, 0
        elif self.pending is not None:
            self.pending += line
            self.continuations += 1
            if self.continuations == 1:
                self.report.notes["rows_rejoined"] += 1
        else:
            self.report.skip("not_csi", line_no, line)
            return
        self._emit_if_complete()

    def _emit_if_complete(self) -> None:
        row = self.pending
        assert row is not None
        i, j = row.find("["), row.rfind("]")
        if i < 0 or j < i:
            if self.continuations >= _MAX_CONTINUATIONS:
                self._drop_pending()
            return
        self.pending = None
        prefix = row[:i].rstrip().rstrip('"').rstrip()
        suffix = row[j + 1 :].lstrip('"').rstrip()
        if not prefix.endswith(","):
            self.report.skip("bad_array", self.pending_line, row)
            return
        normalised = f'{prefix}"[{row[i + 1 : j]}]"{suffix}'
        layout, columns = _columns_for(self.header, normalised)
        if columns is None:
            self.report.skip("unknown_layout", self.pending_line, row)
            return
        self.groups.setdefault((layout, tuple(columns)), []).append(normalised)

    def _drop_pending(self) -> None:
        if self.pending is not None:
            self.report.skip("truncated_row", self.pending_line, self.pending)
            self.pending = None

    def finish(self) -> None:
        self._drop_pending()

    def batches(self) -> list[RowBatch]:
        return [
            RowBatch(layout, list(columns), ("\n".join(rows) + "\n").encode(), len(rows))
            for (layout, columns), rows in self.groups.items()
        ]


def _columns_for(header: list[str] | None, row: str) -> tuple[str, list[str] | None]:
    """Layout and columns for a row: from the header, else from the row's shape.

    In a header-less row, a single field after the data array is the host timestamp
    that collectors append (unless the layout has one already); further fields are
    ``extra_1``, ``extra_2``...
    """
    if header is not None and "data" in header:
        return classify_header(header), header
    n_prefix = row[: row.find("[")].count(",")
    layout = LAYOUT_BY_PREFIX_FIELDS.get(n_prefix)
    if layout is None:
        return "unknown", None
    columns = header_columns(layout)
    n_suffix = row[row.rfind("]") + 1 :].count(",")
    if n_suffix == 1 and HOST_TIME_COLUMN not in columns:
        return layout, [*columns, HOST_TIME_COLUMN]
    columns += [f"extra_{k}" for k in range(1, n_suffix + 1)]
    return layout, columns
