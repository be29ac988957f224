"""The reader against three logs recorded on ESP32 hardware (tests/fixtures/real_csi)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from lofi.io import read_csi_log
from tests.conftest import CSI_TOOL_LOG, CSIKIT_LOG, ESP_CSI_LOG


def raw_values(path, line_no: int) -> list[int]:
    """Independent oracle: the data array of physical line ``line_no`` via the csv module."""
    with open(path, newline="") as handle:
        row = list(csv.reader(handle))[line_no - 1]
    return [int(v) for v in row[-1].strip("[] ").replace(",", " ").split()]


def column(log, name: str) -> np.ndarray:
    return log.csi[:, log.subcarriers.index(name)]


@pytest.fixture(scope="module")
def csikit_log():
    return read_csi_log(CSIKIT_LOG)


class TestCsiToolPassiveLog:
    """CSIKit's ESP32-CSI-Tool capture: header, 834 rows, one row with 127 values."""

    def test_counts(self, csikit_log):
        assert csikit_log.layout == "esp32-csi-tool"
        assert csikit_log.report.lines == 835
        assert len(csikit_log) == 833
        assert csikit_log.report.skipped_by_reason == {"unknown_length": 1}

    def test_row_with_127_values_is_the_one_skipped(self, csikit_log):
        assert len(raw_values(CSIKIT_LOG, 19)) == 127
        assert 283131 not in set(csikit_log.table["local_timestamp"])
        assert {252534, 300984} <= set(csikit_log.table["local_timestamp"])  # its neighbours

    def test_metadata_of_first_row(self, csikit_log):
        first = csikit_log.table.iloc[0]
        assert (first["rssi"], first["channel"], first["local_timestamp"]) == (-52, 8, 7313)
        assert first["role"] == "PASSIVE" and first["mac"] == "11:22:33:44:55:66"
        assert first["real_timestamp"] == pytest.approx(0.285197)
        assert first["t_device"] == pytest.approx(0.007313)

    def test_pairs_are_imaginary_then_real(self, csikit_log):
        # Line 2 reads "38 96 2 0 27 -6 24 -6 ...": pair 2 (subcarrier +2) is imag 27, real -6.
        assert column(csikit_log, "lltf:2")[0] == complex(-6, 27)
        values = raw_values(CSIKIT_LOG, 2)
        for k in (-26, -1, 3, 26):
            pair = k if k > 0 else 64 + k  # 0..31 then -32..-1
            expected = complex(values[2 * pair + 1], values[2 * pair])
            assert column(csikit_log, f"lltf:{k}")[0] == expected

    def test_first_word_is_invalid_by_default_for_this_tool(self, csikit_log):
        assert csikit_log.table["first_word_invalid"].all()
        assert np.isnan(column(csikit_log, "lltf:1")).all()
        assert np.isfinite(column(csikit_log, "lltf:2")).all()


@pytest.fixture(scope="module")
def tool_log():
    return read_csi_log(CSI_TOOL_LOG)


class TestCsiToolHeaderlessLog:
    """ESP32-CSI-Tool active AP capture: no header, len 384 but 128 values, HT40 above."""

    def test_counts_and_trusting_the_value_count(self, tool_log):
        assert tool_log.layout == "esp32-csi-tool"
        assert len(tool_log) == 13 and tool_log.report.skipped == 0
        assert (tool_log.table["n_values"] == 128).all()
        assert list(tool_log.table["len"]).count(384) == 12
        assert tool_log.report.notes["len_differs_from_values"] == 12

    def test_secondary_channel_buffer_is_primary_minus_32_to_31(self, tool_log):
        # Row 1 starts "101 -48 5 0 0 0 0 0 0 0 5 2 23 12": pair 6 = subcarrier -26.
        assert column(tool_log, "lltf:-26")[0] == complex(12, 23)
        values = raw_values(CSI_TOOL_LOG, 1)
        assert column(tool_log, "lltf:26")[0] == complex(values[2 * 58 + 1], values[2 * 58])
        amplitude = np.abs(tool_log.csi)
        assert amplitude.min() > 3  # no guard or DC bin slipped into the 52


@pytest.fixture(scope="module")
def esp_log():
    return read_csi_log(ESP_CSI_LOG)


class TestEspCsiStbcLog:
    """esp-csi console_test capture: 25-column header, 116 rows of 384 values (STBC)."""

    def test_counts(self, esp_log):
        assert esp_log.layout == "esp-csi"
        assert len(esp_log) == 116 and esp_log.report.skipped == 0
        assert esp_log.table["seq"].iloc[0] == 56
        assert esp_log.table["local_timestamp"].iloc[0] == 56307647
        assert (esp_log.table["n_values"] == 384).all()

    def test_full_set_has_three_blocks(self):
        full = read_csi_log(ESP_CSI_LOG, subcarriers="all")
        assert full.csi.shape == (116, 192)
        assert full.subcarriers[0] == "lltf:0" and full.subcarriers[64] == "htltf:0"
        assert full.subcarriers[-1] == "stbc_htltf:-1"
        values = raw_values(ESP_CSI_LOG, 2)
        j = full.subcarriers.index("htltf:5")
        assert full.csi[0, j] == complex(values[2 * (64 + 5) + 1], values[2 * (64 + 5)])

    def test_first_word_flag_is_honoured(self, esp_log):
        assert esp_log.table["first_word_invalid"].all()
        assert np.isnan(column(esp_log, "lltf:1")).all()
        forced = read_csi_log(ESP_CSI_LOG, first_word_invalid=False)
        assert np.isfinite(forced.csi).all()

    def test_legacy_pairing_reproduces_reference_code(self, esp_log):
        legacy = read_csi_log(ESP_CSI_LOG, legacy_pairing=True, first_word_invalid=False)
        values = raw_values(ESP_CSI_LOG, 2)
        pair = 5  # subcarrier +5: reference code takes real = x[2i], imag = x[2i-1]
        assert column(legacy, "lltf:5")[0] == complex(values[2 * pair], values[2 * pair - 1])
        assert column(legacy, "lltf:5")[0] != column(esp_log, "lltf:5")[0]
