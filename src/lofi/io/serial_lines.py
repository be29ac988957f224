"""ESP32 serial lines, each stamped with a host time, as esp-radar ``csi.csv`` rows and ``serial.log`` lines.

Whatever layout the firmware prints (esp-csi, esp-radar, ESP32-CSI-Tool, C5/C6), every
line is parsed by the project's reader (:func:`lofi.io.esp32.reader.read_csi_bytes`) and
every CSI row is written by the project's writer
(:func:`lofi.io.esp32.writer.write_esp_radar_csv`) in the 28-column esp-radar layout
with the host ``timestamp`` filled in. The data array keeps the 52 useful LLTF
subcarriers (``len`` 104, the LoFi recordings' buffer). A line that is not a CSI row
(boot and Wi-Fi log lines, prompts, a damaged or cut row) becomes one ``serial.log``
line: host time (s since 1970), a reason and the text, tab-separated.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.esp32.layouts import DEVICE_TIME_COLUMN, LLTF_USEFUL
from lofi.io.esp32.reader import CsiLog, read_csi_bytes
from lofi.io.esp32.writer import ESP_RADAR_DEFAULTS, write_esp_radar_csv

#: File of the non-CSI serial lines in a recorded session folder.
SERIAL_LOG = "serial.log"
#: Fields of the parsed rows copied into the esp-radar row when the firmware logs them.
_COPIED = [n for n in ESP_RADAR_DEFAULTS if n not in ("seq", "first_word_invalid")] + [DEVICE_TIME_COLUMN]
#: What marks a CSI row of the ESP32 firmwares (other lines: header, boot messages, logs, prompts).
CSI_ROW_MARK = b"CSI_DATA"
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_PROMPT = re.compile(rb"^(?:\s*csi>\s*)+")
_N_USEFUL = len(LLTF_USEFUL)
_PLUS_ONE = int(np.flatnonzero(LLTF_USEFUL == 1)[0])  # the 104-value buffer's first word


@dataclass(frozen=True)
class StampedLine:
    """One serial line (without its line ending) and the host time it arrived at (s since 1970)."""

    t_host: float
    text: bytes


@dataclass
class ConvertedLines:
    """What a batch of serial lines became.

    ``csv`` holds ``rows`` complete esp-radar rows (newline-terminated, no header);
    ``device_us`` is their ``local_timestamp`` (us, 32-bit counter); ``other`` the
    ``serial.log`` lines (bytes, newline-terminated) of the lines that are not CSI rows.
    """

    csv: bytes = b""
    rows: int = 0
    device_us: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    other: list[bytes] = field(default_factory=list)
    layout: str | None = None


def serial_log_line(t_host: float, reason: str, text: bytes) -> bytes:
    """One ``serial.log`` line: host time (s since 1970, us), reason and the text, tab-separated."""
    shown = text.replace(b"\r", b"").replace(b"\n", b" ").decode("utf-8", errors="replace")
    return f"{t_host:.6f}\t{reason}\t{shown}\n".encode()


class SerialCsiConverter:
    """Converts batches of stamped serial lines; remembers the last header line the firmware printed
    (it decides the columns of the rows that follow) and numbers rows whose layout has no ``seq``."""

    def __init__(self) -> None:
        self.header: bytes | None = None
        self.next_seq = 0

    def convert(self, lines: list[StampedLine]) -> ConvertedLines:
        """The esp-radar rows and ``serial.log`` lines of ``lines`` (in arrival order)."""
        out = ConvertedLines()
        candidates: list[StampedLine] = []
        for line in lines:
            clean = _PROMPT.sub(b"", _ANSI.sub(b"", line.text)).strip()
            if clean.startswith(b"type,"):
                self._add_rows(candidates, out)  # rows before a new header follow the old one
                candidates = []
                self.header = clean
                out.other.append(serial_log_line(line.t_host, "header", line.text))
            elif CSI_ROW_MARK in clean:
                candidates.append(line)
            elif line.text.strip():  # a bare prompt too: nothing the port sent is dropped unseen
                out.other.append(serial_log_line(line.t_host, "not_csi", line.text))
        self._add_rows(candidates, out)
        return out

    def _add_rows(self, lines: list[StampedLine], out: ConvertedLines) -> None:
        kept: list[tuple[list[StampedLine], CsiLog]] = []
        self._split_until_parsed(lines, kept, out)
        if kept:
            self._write_rows([line for part, _ in kept for line in part], [log for _, log in kept], out)

    def _split_until_parsed(
        self, lines: list[StampedLine], kept: list[tuple[list[StampedLine], CsiLog]], out: ConvertedLines
    ) -> None:
        """Parse ``lines`` at once when each gives one row (the usual case); else halve the batch until
        the lines that give no row are found alone (a few parses per bad line, not one per line)."""
        if not lines:
            return
        log = self._parse(lines)
        if len(log) == len(lines) and log.csi.shape[1] == _N_USEFUL:
            kept.append((lines, log))
        elif len(lines) == 1:
            out.other.append(serial_log_line(lines[0].t_host, _reason(log), lines[0].text))
        else:
            half = len(lines) // 2
            self._split_until_parsed(lines[:half], kept, out)
            self._split_until_parsed(lines[half:], kept, out)

    def _parse(self, lines: list[StampedLine]) -> CsiLog:
        head = self.header + b"\n" if self.header else b""
        return read_csi_bytes(head + b"\n".join(line.text for line in lines) + b"\n", source="serial")

    def _write_rows(self, lines: list[StampedLine], logs: list[CsiLog], out: ConvertedLines) -> None:
        table = pd.concat([log.table for log in logs], ignore_index=True)
        csi = np.concatenate([log.csi for log in logs])
        fields = _row_fields(table, np.array([line.t_host for line in lines]))
        # the esp-radar buffer's first word is subcarrier +1: flagged where the firmware's row had it invalid
        fields["first_word_invalid"] = np.isnan(csi[:, _PLUS_ONE]).astype(np.int64)
        if "seq" not in table:
            fields["seq"] = np.arange(self.next_seq, self.next_seq + len(table))
            self.next_seq += len(table)
        out.csv += esp_radar_rows(lltf_buffer(csi), fields)
        out.rows += len(table)
        out.device_us = np.concatenate([out.device_us, table[DEVICE_TIME_COLUMN].to_numpy(np.int64)])
        out.layout = logs[-1].layout


def _reason(log: CsiLog) -> str:
    """Why one CSI-looking line gave no usable row (the reader's reason)."""
    if len(log) > 1:
        return "several_rows_in_one_line"
    if len(log) == 1:
        return "no_lltf_subcarriers"
    reasons = log.report.skipped_by_reason
    return "bad_csi:" + (",".join(reasons) if reasons else "no_row")


def _row_fields(table: pd.DataFrame, t_host: np.ndarray) -> dict[str, object]:
    """The esp-radar fields of parsed rows: the firmware's where it logs them, host time ours."""
    fields: dict[str, object] = {"t_host": t_host}
    for name in _COPIED:
        if name in table:
            values = table[name]
            if values.dtype == object or pd.api.types.is_string_dtype(values):
                values = values.fillna(ESP_RADAR_DEFAULTS.get(name, "")).astype(str)
            fields[name] = values.to_numpy()
    if "seq" in table:
        fields["seq"] = table["seq"].to_numpy()
    return fields


def lltf_buffer(csi: np.ndarray) -> np.ndarray:
    """The 104-value int8 buffer (imaginary, real per subcarrier -26..-1, +1..+26) of complex CSI
    (rows x 52); a NaN cell (the first word of a flagged row) is written as 0."""
    cells = np.nan_to_num(np.asarray(csi, dtype=np.complex64), nan=0.0)
    data = np.empty((len(cells), 2 * cells.shape[1]), dtype=np.int8)
    data[:, 0::2] = np.clip(np.rint(cells.imag), -128, 127)
    data[:, 1::2] = np.clip(np.rint(cells.real), -128, 127)
    return data


def esp_radar_rows(data: np.ndarray, fields: dict[str, object]) -> bytes:
    """esp-radar rows (no header) as the project's writer formats them; see ``write_esp_radar_csv``."""
    with tempfile.TemporaryDirectory(prefix="lofi-rows-") as scratch:
        path = Path(scratch) / "rows.csv"
        write_esp_radar_csv(path, data, fields)
        text = path.read_bytes()
    return text[text.index(b"\n") + 1 :]
