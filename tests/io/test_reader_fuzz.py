"""Property-based fuzzing: the reader never crashes and every row it returns is valid."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lofi.io.esp32.layouts import CLASSIC_LENGTHS, ESP_RADAR_HEADER
from lofi.io.esp32.reader import read_csi_bytes

ROW = (
    "CSI_DATA,{seq},2024-05-01 10:00:{sec:06.3f},0,unknown,aa:bb:cc:dd:ee:ff,-47,11,1,0,0,0,0,0,0,0,0,"
    '-92,0,6,0,{tick},0,100,0,104,0,"[{data}]"'
)
NOISE = ["\r", "\x1b[0m", "csi> ", "I (12) wifi: x\n", "\n", ",", "[", "]", '"', "-", "9999", "\x00", "é"]


def valid_row(seq: int) -> str:
    data = ",".join(str((seq * 13 + i) % 256 - 128) for i in range(104))
    return ROW.format(seq=seq, sec=seq * 0.01, tick=10_000 * seq, data=data)


def assert_rows_valid(log) -> None:
    assert log.csi.shape == (len(log.table), len(log.subcarriers))
    assert log.csi.dtype == np.complex64
    if len(log):
        assert set(log.table["n_values"]) <= CLASSIC_LENGTHS
        finite = np.isfinite(log.csi)
        # Only the first-word subcarrier may be NaN, and only when the row says so.
        assert finite[~log.table["first_word_invalid"].to_numpy()].all()
        values = np.concatenate([log.csi.real[finite], log.csi.imag[finite]])
        assert values.min() >= -128 and values.max() <= 127
        assert np.isfinite(log.table["t_device"]).all()
    assert log.report.rows == len(log)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(payload):
    assert_rows_valid(read_csi_bytes(payload))


@settings(max_examples=150, deadline=None)
@given(
    n_rows=st.integers(1, 6),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(NOISE), st.booleans()), max_size=8),
    header=st.booleans(),
)
def test_mutated_captures_keep_only_valid_rows(n_rows, edits, header):
    text = (ESP_RADAR_HEADER + "\n" if header else "") + "\n".join(valid_row(s) for s in range(n_rows))
    for position, noise, delete in edits:
        at = position % (len(text) + 1)
        text = text[:at] + ("" if delete else noise) + text[at + (len(noise) if delete else 0) :]
    log = read_csi_bytes(text.encode("utf-8", errors="replace"))
    assert_rows_valid(log)
    assert len(log) <= n_rows
    if not edits:
        assert len(log) == n_rows and log.report.skipped == 0
