"""Small CSI logs with known timing, written in the esp-radar layout and read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lofi.io.esp32.reader import CsiLog, read_csi_log
from lofi.io.esp32.writer import write_esp_radar_csv

HOST_START = 1_715_947_797.0


def ramp_values(n: int, start: float = 10.0, slope: float = 0.0) -> np.ndarray:
    """int8 (imag, real) pairs, 52 subcarriers: real part = start + slope * row, imag 0."""
    real = np.clip(np.round(start + slope * np.arange(n)), -128, 127).astype(np.int8)
    data = np.zeros((n, 104), dtype=np.int8)
    data[:, 1::2] = real[:, None]
    return data


def write_log(
    path: Path,
    t_device_s: np.ndarray,
    t_host_s: np.ndarray | None = None,
    data: np.ndarray | None = None,
    **fields: object,
) -> CsiLog:
    """Write rows at the given device times (s) and read them back."""
    t_device_s = np.asarray(t_device_s, dtype=np.float64)
    t_host = HOST_START + t_device_s if t_host_s is None else np.asarray(t_host_s, dtype=np.float64)
    data = ramp_values(len(t_device_s)) if data is None else data
    fields = {"mac": "1a:2b:3c:4d:5e:6f", **fields}
    write_esp_radar_csv(
        path,
        data,
        {"t_host": t_host, "local_timestamp": np.round(t_device_s * 1e6).astype(np.int64), **fields},
    )
    return read_csi_log(path)
