"""esp-radar writer -> reader round trips give the same values back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lofi.io import read_csi_log, write_esp_radar_csv
from lofi.io.esp32.layouts import LLTF_USEFUL
from lofi.io.esp32.writer import format_host_times


def write_and_read(tmp_path, data, fields):
    path = tmp_path / "csi.csv"
    write_esp_radar_csv(path, data, fields)
    return read_csi_log(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=arrays(np.int8, st.tuples(st.integers(1, 30), st.just(104))),
    t0=st.floats(1.0e9, 2.0e9),
    tick0=st.integers(0, 2**40),
    rssi=st.integers(-100, -10),
)
def test_round_trip_is_exact(tmp_path, data, t0, tick0, rssi):
    n = len(data)
    t_host = t0 + np.arange(n) * 0.0101
    ticks = tick0 + np.arange(n) * 10_037
    log = write_and_read(tmp_path, data, {"t_host": t_host, "local_timestamp": ticks, "rssi": rssi})
    assert len(log) == n and log.layout == "esp-radar" and log.report.skipped == 0
    assert np.array_equal(log.csi.imag, data[:, 0::2].astype(np.float32))
    assert np.array_equal(log.csi.real, data[:, 1::2].astype(np.float32))
    assert np.array_equal(log.table["local_timestamp"], ticks % 2**32)
    assert np.allclose(np.diff(log.table["t_device"]), 0.010037)
    assert np.array_equal(np.round(log.table["t_host"].to_numpy() * 1000), np.round(t_host * 1000))
    assert (log.table["rssi"] == rssi).all() and (log.table["len"] == 104).all()
    assert log.subcarriers == [f"lltf:{k}" for k in LLTF_USEFUL]


def test_host_times_are_written_to_the_millisecond():
    assert format_host_times(np.array([1714557600.1254, 0.0])) == [
        "2024-05-01 10:00:00.125",
        "1970-01-01 00:00:00.000",
    ]


def test_writer_rejects_bad_input(tmp_path):
    data = np.zeros((2, 104), np.int8)
    with pytest.raises(ValueError, match="int8"):
        write_esp_radar_csv(tmp_path / "a.csv", data.astype(np.int16), {"t_host": 0, "local_timestamp": 0})
    with pytest.raises(ValueError, match="missing required field"):
        write_esp_radar_csv(tmp_path / "a.csv", data, {"t_host": 0})
    with pytest.raises(ValueError, match="comma"):
        write_esp_radar_csv(tmp_path / "a.csv", data, {"t_host": 0, "local_timestamp": 0, "target": "a,b"})
    with pytest.raises(ValueError, match="unknown field"):
        write_esp_radar_csv(tmp_path / "a.csv", data, {"t_host": 0, "local_timestamp": 0, "colour": 1})
    assert not (tmp_path / "a.csv").exists()
