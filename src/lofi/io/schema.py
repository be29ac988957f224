"""Documented schemas (column, dtype, unit) of every table the project reads or writes.

Times are float seconds; host times are seconds since 1970-01-01 of the wall-clock
time the capture host wrote (no time zone is applied). Missing values are NaN,
never a sentinel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a table: name, dtype, unit and meaning."""

    name: str
    dtype: str
    unit: str
    description: str


#: The table returned by :func:`lofi.io.read_csi_log` (``CsiLog.table``). Columns
#: marked "if logged" appear only when the capture's layout has them.
CSI_LOG_COLUMNS: tuple[Column, ...] = (
    Column("seq", "int64", "", "callback counter (esp-csi `id`); counts receptions, not pings"),
    Column("mac", "string", "", "transmitter MAC address"),
    Column("rssi", "int64", "dBm", "received signal strength"),
    Column("rate", "int64", "", "PHY rate code (if logged)"),
    Column("sig_mode", "int64", "", "0 non-HT (11bg), 1 HT (11n), 3 VHT (if logged)"),
    Column("mcs", "int64", "", "modulation and coding scheme index (if logged)"),
    Column("bandwidth", "int64", "", "0 = 20 MHz, 1 = 40 MHz (esp-radar `cwb`; if logged)"),
    Column("stbc", "int64", "", "1 if space-time block coded (if logged)"),
    Column("noise_floor", "int64", "dBm", "noise floor reported by the radio"),
    Column("channel", "int64", "", "primary channel number"),
    Column("secondary_channel", "int64", "", "0 none, 1 above, 2 below (if logged)"),
    Column("local_timestamp", "int64", "us", "device 32-bit microsecond counter, as logged"),
    Column("t_device", "float64", "s", "local_timestamp unwrapped past 32-bit wraps"),
    Column("t_host", "float64", "s", "host timestamp (esp-radar `timestamp`); NaN if not logged"),
    Column("len", "int64", "int8 values", "buffer length the device claimed"),
    Column("n_values", "int64", "int8 values", "values actually printed (trusted over `len`)"),
    Column("first_word_invalid", "bool", "", "first four buffer bytes invalid (set to NaN)"),
    Column("target_seq", "int64", "", "esp-radar label counter (`taget_seq`; if logged)"),
    Column("target", "string", "", "esp-radar label text (`taget`; if logged)"),
    Column("role", "string", "", "ESP32-CSI-Tool role: AP, STA or PASSIVE (if logged)"),
    Column("real_timestamp", "float64", "s", "ESP32-CSI-Tool device/real time (if logged)"),
)
#: ``CsiLog.csi``: complex64 array (rows x subcarriers), real + 1j*imag in raw int8
#: units; NaN where a value is invalid. ``CsiLog.subcarriers`` names its columns
#: ``block:index`` (``lltf:-26`` ... ``lltf:26``).


#: ``data/interim/<session>/detections.parquet``: one row per evaluated video frame.
DETECTIONS_COLUMNS: tuple[Column, ...] = (
    Column("frame", "int64", "", "frame index in video.mp4"),
    Column("t_host", "float64", "s", "host timestamp of the frame (frames.csv)"),
    Column("x0", "float64", "px", "kept person box, left (NaN: no person)"),
    Column("y0", "float64", "px", "kept person box, top"),
    Column("x1", "float64", "px", "kept person box, right"),
    Column("y1", "float64", "px", "kept person box, bottom"),
    Column("confidence", "float64", "", "detector confidence of the kept box"),
    Column("detector", "string", "", "yolo, hog, haar or bgsub"),
    Column("n_candidates", "int64", "", "boxes of any class the detector returned"),
    Column("reason", "string", "", "'' or corrupt_frame"),
)

#: ``data/interim/<session>/positions.parquet``: floor labels per evaluated frame.
POSITIONS_COLUMNS: tuple[Column, ...] = (
    Column("frame", "int64", "", "frame index in video.mp4"),
    Column("t_host", "float64", "s", "host timestamp of the frame"),
    Column("foot_u", "float64", "px", "foot point (bottom-middle of the box), u"),
    Column("foot_v", "float64", "px", "foot point, v"),
    Column("x_m", "float64", "m", "floor position, region frame (NaN: no person)"),
    Column("y_m", "float64", "m", "floor position, region frame"),
    Column("valid", "bool", "", "usable label"),
    Column("reason", "string", "", "'' or no_person, outside_region, jump, corrupt_frame"),
)
