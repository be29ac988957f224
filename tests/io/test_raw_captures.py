"""Raw serial captures: line noise, prompts, log lines, splices, broken rows, formats."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.io import read_csi_log
from lofi.io.esp32.layouts import ESP_CSI_C5C6_HEADER, ESP_CSI_HEADER, ESP_RADAR_HEADER
from lofi.io.esp32.reader import CsiReadError, read_csi_bytes

ESP_CSI_META = "CSI_DATA,{seq},aa:bb:cc:dd:ee:ff,-50,11,1,0,0,0,0,0,0,0,0,-95,0,6,0,{ts},0,100,0,128,0,"


def values_for(seq: int, n: int = 128) -> list[int]:
    """A recognisable buffer: value i of row ``seq`` is ((seq * 7 + i) % 200) - 100."""
    return [((seq * 7 + i) % 200) - 100 for i in range(n)]


def esp_csi_row(seq: int, style: str = "quoted") -> str:
    """One esp-csi row; data as quoted commas, bare spaces (2021 firmware) or bare commas."""
    vals = values_for(seq)
    meta = ESP_CSI_META.format(seq=seq, ts=1_000_000 + 10_000 * seq)
    if style == "quoted":
        return meta + '"[' + ",".join(map(str, vals)) + ']"'
    if style == "spaces":
        return meta + "[ " + " ".join(map(str, vals)) + " ]"
    return meta + "[" + ",".join(map(str, vals)) + "]"


FIRST_OF_ROW_2 = f'"[{values_for(2)[0]},'


def expected_lltf(seq: int, k: int) -> complex:
    vals = values_for(seq)
    pair = k if k > 0 else 64 + k
    return complex(vals[2 * pair + 1], vals[2 * pair])


def read_text(text: str, **kwargs):
    return read_csi_bytes(text.encode(), **kwargs)


def test_clean_quoted_spaces_and_bare_commas_read_the_same():
    for style in ("quoted", "spaces", "bare"):
        log = read_text(ESP_CSI_HEADER + "\n" + "\n".join(esp_csi_row(s, style) for s in range(5)) + "\n")
        assert len(log) == 5, style
        assert list(log.table["seq"]) == [0, 1, 2, 3, 4]
        assert log.csi[3, log.subcarriers.index("lltf:-7")] == expected_lltf(3, -7)


def test_raw_serial_capture_is_cleaned_and_every_loss_counted():
    rows = [esp_csi_row(s) for s in range(10)]
    spliced = rows[4][:300] + "I (5123) wifi:bcn_timeout,ap_probe_send_start\n" + rows[4][300:]
    broken = rows[6][:200] + "\n" + rows[6][200:]
    capture = "\r\n".join(
        [
            "\x1b[0;32mI (312) boot: ESP-IDF v4.4 2nd stage bootloader\x1b[0m",
            "csi> csi> ",
            "W (400) wifi: unknown event",
            ESP_CSI_HEADER,
            rows[0],
            "csi> " + rows[1],
            "\x1b[999C\x1b[6n" + rows[2],
            rows[3] + " ",
            spliced,
            rows[5],
            broken,
            rows[7][:150],  # truncated, never completed
            rows[8].replace(",-50,", ",-5x0,"),  # damaged rssi
            "random text that is not CSI",
            rows[9],
        ]
    ).replace("\n", "\r", 3)
    log = read_text(capture)
    assert list(log.table["seq"]) == [0, 1, 2, 3, 4, 5, 6, 9]
    for row, seq in enumerate(log.table["seq"]):
        assert log.csi[row, log.subcarriers.index("lltf:13")] == expected_lltf(seq, 13)
    assert log.report.skipped_by_reason == {
        "bad_field": 1,
        "log_line": 2,
        "not_csi": 1,
        "truncated_row": 1,
    }
    assert log.report.notes["log_text_cut_from_row"] == 1
    assert log.report.notes["rows_rejoined"] == 2


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda r: r.replace(",-50,", ",-50,7,"), "field_count"),
        (lambda r: r.replace("]", ",5]"), "unknown_length"),
        (lambda r: r.replace(FIRST_OF_ROW_2, '"[-300,'), "value_out_of_range"),
        (lambda r: r.replace(FIRST_OF_ROW_2, '"[-1-00,'), "bad_array"),
        (lambda r: r.replace(FIRST_OF_ROW_2, '"[abc,'), "bad_array"),
        (lambda r: r.replace(FIRST_OF_ROW_2, '"[1234,'), "value_out_of_range"),
    ],
)
def test_damaged_rows_are_skipped_with_a_reason(damage, reason):
    rows = [esp_csi_row(s) for s in range(4)]
    rows[2] = damage(rows[2])
    log = read_text(ESP_CSI_HEADER + "\n" + "\n".join(rows) + "\n")
    assert list(log.table["seq"]) == [0, 1, 3]
    assert log.report.skipped_by_reason == {reason: 1}


def test_headerless_rows_are_recognised_by_shape():
    log = read_text("\n".join(esp_csi_row(s) for s in range(3)))
    assert log.layout == "esp-csi" and len(log) == 3
    radar = ESP_RADAR_HEADER.split(",")
    row = ["CSI_DATA", "7", "2024-05-01 10:00:00.125", "0", "unknown", "aa:bb:cc:dd:ee:ff", "-40"]
    row += ["0"] * (len(radar) - len(row) - 1)
    row[radar.index("len")] = "104"
    radar_row = ",".join(row) + ',"[' + ",".join(["3", "4"] * 52) + ']"'
    radar_log = read_text(radar_row + "\n" + radar_row.replace(",7,", ",8,", 1))
    assert radar_log.layout == "esp-radar" and len(radar_log) == 2
    assert radar_log.table["t_host"].iloc[0] == pytest.approx(1714557600.125)
    assert radar_log.csi[0, 0] == complex(4, 3)


def test_c5c6_layout_reads_ascending_lltf():
    header = ESP_CSI_C5C6_HEADER
    vals = [v % 50 for v in range(106)]
    row = (
        "CSI_DATA,1,aa:bb:cc:dd:ee:ff,-45,11,-90,0,0,6,12345,100,0,106,0,"
        + '"['
        + ",".join(map(str, vals))
        + ']"'
    )
    log = read_text(header + "\n" + row + "\n")
    assert log.layout == "esp-csi-c5c6" and len(log) == 1
    # 106 values = subcarriers -26..26 ascending: -26 is pair 0, +1 is pair 27.
    assert log.csi[0, log.subcarriers.index("lltf:-26")] == complex(vals[1], vals[0])
    assert log.csi[0, log.subcarriers.index("lltf:1")] == complex(vals[55], vals[54])


def test_32bit_device_counter_is_unwrapped():
    ticks = [2**32 - 20_000, 2**32 - 10_000, 5_000, 15_000]
    rows = [esp_csi_row(s).replace(f",{1_000_000 + 10_000 * s},", f",{t},") for s, t in enumerate(ticks)]
    log = read_text("\n".join(rows))
    assert np.allclose(np.diff(log.table["t_device"]), [0.01, 0.015, 0.01])


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 40, "binary"),
        (b"I (1) boot: hello\nW (2) wifi: nothing here\n", "no line is a complete CSI row"),
        (b"type,id,mac\nfoo,bar,baz\n", "no line is a complete CSI row"),
    ],
)
def test_inputs_without_csi_rows_give_zero_rows_and_a_reason(payload, why):
    log = read_csi_bytes(payload)
    assert len(log) == 0 and log.csi.shape == (0, 52)
    assert why in log.report.empty_reason


def test_missing_file_and_folder_raise_one_clear_error(tmp_path):
    with pytest.raises(CsiReadError, match="no such file"):
        read_csi_log(tmp_path / "missing.csv")
    with pytest.raises(CsiReadError, match="not a file"):
        read_csi_log(tmp_path)


def test_a_header_with_a_repeated_name_does_not_crash():
    header = ESP_CSI_HEADER.replace("ampdu_cnt", "len")
    log = read_text(header + "\n" + "\n".join(esp_csi_row(s) for s in range(3)) + "\n")
    assert len(log) == 3 and "len_2" in log.table
