"""Host timestamps in epoch units, and optional fields that are repaired instead of dropping the row."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.io.esp32.arrow_csv import epoch_seconds
from lofi.io.esp32.layouts import CSI_TOOL_HEADER, ESP_CSI_HEADER, ESP_RADAR_HEADER
from lofi.io.esp32.reader import read_csi_bytes

TOOL_MAC = "3C:71:BF:6D:2A:78"


def tool_values(row: int) -> list[int]:
    """128 recognisable int8 values for row ``row`` (all non-zero, so no value is ambiguous)."""
    return [((row * 11 + i) % 90) - 45 or 1 for i in range(128)]


def tool_row(
    row: int,
    host: str | None,
    *,
    tick: str | None = None,
    mac: str = TOOL_MAC,
    real: str = "1619984033.713100",
    data: str | None = None,
) -> str:
    """An ESP32-CSI-Tool AP row (HT40 above, 128 values) with a trailing host timestamp."""
    tick = str(1_000_000 + 10_000 * row) if tick is None else tick
    data = "[" + " ".join(map(str, tool_values(row))) + " ]" if data is None else data
    text = f"CSI_DATA,AP,{mac},-73,11,1,0,1,1,1,0,0,0,0,-93,0,1,1,{tick},0,101,0,1,{real},128,{data}"
    return text if host is None else f"{text},{host}"


def esp_csi_row(row: int, host: str, mac: str = "aa:bb:cc:dd:ee:ff") -> str:
    """A current esp-csi row (quoted comma-separated 128 values) with a trailing host timestamp."""
    values = ",".join(str(((row * 7 + i) % 200) - 100) for i in range(128))
    tick = 2_000_000 + 10_000 * row
    return f'CSI_DATA,{row},{mac},-50,11,1,0,0,0,0,0,0,0,0,-95,0,6,0,{tick},0,100,0,128,0,"[{values}]",{host}'


def read_text(text: str):
    return read_csi_bytes(text.encode())


def lltf(log, k: int) -> np.ndarray:
    return log.csi[:, log.subcarriers.index(f"lltf:{k}")]


# -- epoch host timestamps ---------------------------------------------------------------


def test_csi_tool_log_with_real_time_and_epoch_host_time_is_read_whole():
    hosts = [f"{1619984033 + 0.01 * r:.7f}" for r in range(300)]
    text = CSI_TOOL_HEADER + ",timestamp\n" + "\n".join(tool_row(r, h) for r, h in enumerate(hosts))
    log = read_text(text + "\n")
    assert log.layout == "esp32-csi-tool"
    assert len(log) == 300 and log.report.skipped_by_reason == {} and log.report.field_problems == {}
    np.testing.assert_array_equal(log.table["t_host"].to_numpy(), [float(h) for h in hosts])
    assert (log.table["real_time_set"] == 1).all()
    assert (log.table["real_timestamp"] == 1619984033.7131).all()
    assert lltf(log, -26)[5] == complex(tool_values(5)[13], tool_values(5)[12])  # pair 6 = subcarrier -26


def test_headerless_csi_tool_rows_take_the_trailing_field_as_host_time():
    rows = [tool_row(0, "1619984033.7131004"), tool_row(1, "1619984033.7231004")]
    log = read_text("\r\n".join(rows) + "\r\n")
    assert log.layout == "esp32-csi-tool" and len(log) == 2
    assert log.table["t_host"].tolist() == [1619984033.7131004, 1619984033.7231004]
    assert "extra_1" not in log.table


def test_esp_csi_row_with_trailing_float_epoch_host_time():
    text = ESP_CSI_HEADER + ",timestamp\n" + "\n".join(esp_csi_row(r, f"17159477{r}7.25") for r in range(3))
    log = read_text(text)
    assert log.layout == "esp-csi" and len(log) == 3
    assert log.table["t_host"].tolist() == [1715947707.25, 1715947717.25, 1715947727.25]
    assert log.report.field_problems == {}


@pytest.mark.parametrize(
    ("logged", "seconds"),
    [
        ("1619984033", 1619984033.0),  # integer seconds
        ("1619984033.5", 1619984033.5),
        ("1619984033713", 1619984033.713),  # integer milliseconds
        ("1619984033713.5", 1619984033.7135),
        ("1619984033713100", 1619984033.7131),  # microseconds
        ("1619984033713100200", 1619984033.7131002),  # nanoseconds
    ],
)
def test_epoch_host_times_in_any_unit(logged, seconds):
    log = read_text(CSI_TOOL_HEADER + ",timestamp\n" + tool_row(0, logged) + "\n" + tool_row(1, logged))
    assert len(log) == 2 and log.report.field_problems == {}
    assert log.table["t_host"].iloc[0] == pytest.approx(seconds, abs=1e-6)


def test_epoch_unit_is_decided_by_magnitude():
    values = np.array(
        [0.0, 99_999_999_999.0, 1e11, 1.7e12, 1e14, 1.7e15, 1e17, 1.7e18, 1e20, -1.0, np.nan, np.inf]
    )
    seconds = epoch_seconds(values)
    expected = [0.0, 99_999_999_999.0, 1e8, 1.7e9, 1e8, 1.7e9, 1e8, 1.7e9, np.nan, np.nan, np.nan, np.nan]
    np.testing.assert_array_equal(seconds, expected)
    assert epoch_seconds(np.array([1619984033713.0]))[0] == 1619984033713.0 / 1e3


def test_a_column_mixing_date_times_epochs_and_garbage_is_read_value_by_value():
    hosts = ["2021-05-02 19:33:53.713", "1619984033.723", "1619984033733", "soon", "", "2021-13-45 99:99:99"]
    log = read_text(CSI_TOOL_HEADER + ",timestamp\n" + "\n".join(tool_row(r, h) for r, h in enumerate(hosts)))
    assert len(log) == 6 and log.report.skipped_by_reason == {}
    t_host = log.table["t_host"].to_numpy()
    np.testing.assert_array_equal(t_host[:3], [1619984033.713, 1619984033.723, 1619984033.733])
    assert np.isnan(t_host[3:]).all()
    assert log.report.field_problems == {"bad_host_time": 3}


# -- optional fields are repaired, essential ones drop the row ----------------------------


def test_garbage_mac_keeps_the_row_with_the_mac_missing():
    rows = [
        tool_row(0, "1619984033.1"),
        tool_row(1, "1619984033.2", mac="3C:71:ZZ:6D:2A"),
        tool_row(2, "1619984033.3"),
    ]
    log = read_text(CSI_TOOL_HEADER + ",timestamp\n" + "\n".join(rows))
    assert len(log) == 3 and log.report.skipped_by_reason == {}
    assert log.report.field_problems == {"bad_mac": 1}
    assert log.table["mac"].isna().tolist() == [False, True, False]
    assert log.table["mac"].iloc[0] == TOOL_MAC
    assert log.table["t_host"].iloc[1] == 1619984033.2
    assert lltf(log, 5)[1] == complex(tool_values(1)[2 * 37 + 1], tool_values(1)[2 * 37])  # pair 37 = +5


def test_garbage_host_time_in_a_clean_esp_radar_log_keeps_the_row():
    radar = ESP_RADAR_HEADER.split(",")
    rows = []
    for seq, host in enumerate(
        ["2024-05-01 10:00:00.125", "2024-05-01 10:0?:00.135", "2024-05-01 10:00:00.145"]
    ):
        fields = ["CSI_DATA", str(seq), host, "0", "unknown", "aa:bb:cc:dd:ee:ff", "-40"]
        fields += ["0"] * (len(radar) - len(fields) - 1)
        fields[radar.index("local_timestamp")] = str(1000 + 10_000 * seq)
        fields[radar.index("len")] = "104"
        rows.append(",".join(fields) + ',"[' + ",".join([str(seq + 1), "4"] * 52) + ']"')
    log = read_text(ESP_RADAR_HEADER + "\n" + "\n".join(rows) + "\n")
    assert log.layout == "esp-radar" and len(log) == 3
    assert log.report.skipped_by_reason == {} and log.report.field_problems == {"bad_host_time": 1}
    t_host = log.table["t_host"].to_numpy()
    assert t_host[0] == 1714557600.125 and np.isnan(t_host[1]) and t_host[2] == 1714557600.145
    assert log.csi[1, 0] == complex(4, 2)


def test_bad_real_timestamp_is_repaired_and_counted():
    rows = [tool_row(0, "1619984033.1"), tool_row(1, "1619984033.2", real="16199x4033.7")]
    log = read_text(CSI_TOOL_HEADER + ",timestamp\n" + "\n".join(rows))
    assert len(log) == 2 and log.report.field_problems == {"bad_real_timestamp": 1}
    assert log.table["real_timestamp"].iloc[0] == 1619984033.7131
    assert np.isnan(log.table["real_timestamp"].iloc[1])


def test_rows_without_a_data_array_or_device_time_are_still_dropped_with_their_reason():
    rows = [
        tool_row(0, "1619984033.10"),
        tool_row(1, "garbage", data="[1 2 3x 4 ]"),  # broken array (and a bad host time)
        tool_row(2, "1619984033.12", tick=""),  # no local_timestamp
        tool_row(3, "1619984033.13", tick="12a4", mac="nonsense"),  # bad local_timestamp (and MAC)
        tool_row(4, "1619984033.14").replace(",-73,", ",-7x3,"),  # bad radio field
        tool_row(5, "soon", mac="??"),  # kept: only optional fields are bad
    ]
    log = read_text(CSI_TOOL_HEADER + ",timestamp\n" + "\n".join(rows) + "\n")
    assert log.table["local_timestamp"].tolist() == [1_000_000, 1_050_000]
    assert log.report.skipped_by_reason == {"bad_array": 1, "bad_field": 1, "bad_local_timestamp": 2}
    assert log.report.field_problems == {"bad_host_time": 1, "bad_mac": 1}  # counted in kept rows only
    assert log.report.repaired == 2
    assert log.table["t_host"].iloc[0] == 1619984033.1 and np.isnan(log.table["t_host"].iloc[1])


def test_clean_and_raw_captures_report_the_same_problems():
    rows = [tool_row(0, "1619984033.1"), tool_row(1, "x", mac="x"), tool_row(2, "1619984033.3")]
    clean = read_text(CSI_TOOL_HEADER + ",timestamp\n" + "\n".join(rows) + "\n")
    raw = read_text("csi> " + CSI_TOOL_HEADER + ",timestamp\r\nI (12) wifi: hello\r\n" + "\r\n".join(rows))
    for log in (clean, raw):
        assert len(log) == 3 and log.report.field_problems == {"bad_host_time": 1, "bad_mac": 1}
    np.testing.assert_array_equal(clean.table["t_host"], raw.table["t_host"])
    np.testing.assert_array_equal(clean.csi, raw.csi)
