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
    Column("foot_y", "float64", "px", "box bottom refined against the empty room (NaN: not refined)"),
    Column("confidence", "float64", "", "detector confidence of the kept box"),
    Column("detector", "string", "", "yolo, hog, haar or bgsub"),
    Column("n_candidates", "int64", "", "boxes of any class the detector returned"),
    Column("reason", "string", "", "'' or corrupt_frame"),
)

#: ``data/interim/<session>/positions.parquet``: floor labels per evaluated frame.
POSITIONS_COLUMNS: tuple[Column, ...] = (
    Column("frame", "int64", "", "frame index in video.mp4"),
    Column("t_host", "float64", "s", "host timestamp of the frame"),
    Column("foot_u", "float64", "px", "foot point (bottom_middle or upright model), u"),
    Column("foot_v", "float64", "px", "foot point, v"),
    Column("x_m", "float64", "m", "floor position, region frame (NaN: no person)"),
    Column("y_m", "float64", "m", "floor position, region frame"),
    Column("valid", "bool", "", "usable label"),
    Column("reason", "string", "", "'' or no_person, outside_region, jump, corrupt_frame"),
)

#: Matrix columns (rows x 52 float32, one value per subcarrier -26..-1, +1..+26) of the
#: CSI, aligned and data-set tables, stored as parquet fixed-size lists.
CSI_MATRIX_COLUMNS: tuple[Column, ...] = (
    Column("amplitude", "float32[52]", "int8 units", "|H| per subcarrier; NaN where lost and unfilled"),
    Column("phase", "float32[52]", "rad", "sanitised phase: unwrapped, linear trend over index removed"),
)

#: ``data/interim/<session>/csi.parquet``: one row per sent ping (received or lost).
CSI_COLUMNS: tuple[Column, ...] = (
    Column("t_host", "float64", "s", "host time from the robust device-to-host clock fit"),
    Column("t_host_raw", "float64", "s", "host timestamp as logged (NaN for lost rows)"),
    Column("t_device", "float64", "s", "device time: counter unwrapped, jumps repaired"),
    Column("seq", "Int64", "", "callback counter as logged (null for lost rows)"),
    Column("rssi", "float32", "dBm", "received signal strength (filled like the CSI)"),
    Column("lost", "bool", "", "row inserted for a lost packet (eq. 4)"),
    Column("filled", "bool", "", "lost row whose values were filled"),
    Column("outage", "bool", "", "lost row of a gap longer than max_gap_s (left NaN)"),
    Column("segment", "int32", "", "continuous stretch; a gap over max_insert_s or a reboot starts the next"),
    *CSI_MATRIX_COLUMNS,
)

#: ``data/interim/<session>/aligned.parquet``: the CSI table plus the label of each row (eq. 5).
ALIGNED_COLUMNS: tuple[Column, ...] = (
    *CSI_COLUMNS,
    Column("frame", "int64", "", "nearest camera frame within tolerance (-1: none)"),
    Column("x_m", "float64", "m", "label x, region frame (NaN: no label)"),
    Column("y_m", "float64", "m", "label y, region frame (NaN: no label)"),
    Column("label_dt", "float64", "s", "t_host of the CSI row minus that of the frame (NaN: none)"),
    Column("label_valid", "bool", "", "label and CSI both usable"),
    Column(
        "reason",
        "string",
        "",
        "'' or no_frame_near, no_person, outside_region, jump, corrupt_frame, no_label, csi_missing",
    ),
    Column("subject", "string", "", "subject id (session.yaml)"),
    Column("session", "string", "", "session id"),
)

#: Optional columns of a data set's ``frames.parquet`` (after the aligned columns): the true
#: position at each CSI row, known for synthetic sessions only; for evaluation, never a model
#: input. A data set without them (older format) reads back with NaN.
TRUTH_COLUMNS: tuple[Column, ...] = (
    Column("x_true", "float64", "m", "true x at the row's CSI instant, region frame (NaN: unknown)"),
    Column("y_true", "float64", "m", "true y at the row's CSI instant, region frame (NaN: unknown)"),
)


def column_names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """Names of a schema's columns, in order."""
    return tuple(c.name for c in columns)


#: numpy dtype kinds (``numpy.dtype.kind``) a column of each documented dtype may read back as:
#: booleans only as booleans (never text such as ``'false'``, which is truthy), numbers as numbers,
#: text as objects. ``Int64`` (nullable) reads back as float where it has nulls.
DTYPE_KINDS: dict[str, str] = {
    "bool": "b",
    "float64": "f",
    "float32": "f",
    "int64": "iu",
    "int32": "iu",
    "Int64": "iuf",
    "string": "OU",
}


def dtype_fits(column: Column, kind: str) -> bool:
    """Whether a column read back with numpy dtype kind ``kind`` (``'b'``, ``'f'``, ``'O'`` ...)
    has its schema's dtype (a dtype this module does not list, e.g. a matrix column, always fits)."""
    kinds = DTYPE_KINDS.get(column.dtype)
    return kinds is None or kind in kinds
