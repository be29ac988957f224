"""The published LoFi pickles (``wiloc.pkl``, ``data_sequence.pkl``): guarded reading, and export.

Loading a pickle can run arbitrary code, so :func:`load_published_pickle` refuses
unless the caller says the file is trusted, and even then only rebuilds plain
containers and numpy arrays (any other class in the stream is an error).

Published shapes (a list with one dict per person):

- ``data_sequence.pkl``: ``time`` (device counter, us), ``global_time`` (host
  clock in the reference code's mis-scaled units), ``people``, ``magnitude`` and
  ``phase`` (rows x 52; lost packets padded with -1000);
- ``wiloc.pkl``: ``magnitude``, ``phase``, ``x``, ``y`` (m; -1000 where there is
  no label), ``img_path``, ``time`` (us), ``people``.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lofi.io.atomic import atomic_open
from lofi.io.dataset_store import Dataset
from lofi.io.tables import MAX_ABS_FLOOR_M

PAD = -1000.0
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "tuple"),
    ("_codecs", "encode"),
}


class PickleTrustError(PermissionError):
    """A pickle was not marked as trusted, or asks to build something other than data."""


class PublishedFormatError(ValueError):
    """A published LoFi pickle does not have the expected shape."""


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise PickleTrustError(f"the pickle asks for {module}.{name}, which is not plain data; refused")
        return super().find_class(module, name)


def load_published_pickle(path: str | os.PathLike[str], trust: bool) -> list[dict]:
    """Read a published LoFi pickle; ``trust`` must be True (the user's explicit consent)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file" + (" (it is a folder)" if path.is_dir() else ""))
    if not trust:
        raise PickleTrustError(
            f"{path}: loading a pickle can run code it contains; pass --trust-pickle only for a file "
            "from a source you trust (it is converted once to parquet and never loaded again)"
        )
    try:
        with open(path, "rb") as handle:
            data = _DataOnlyUnpickler(io.BufferedReader(handle)).load()
    except PickleTrustError as err:
        raise PickleTrustError(f"{path}: {err}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        ImportError,
    ) as err:
        raise PublishedFormatError(f"{path}: not a readable pickle ({err})") from err
    except (MemoryError, RecursionError) as err:
        raise PublishedFormatError(f"{path}: not a readable pickle ({type(err).__name__})") from err
    return _check_records(data, path)


def _check_records(data: object, path: Path) -> list[dict]:
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise PublishedFormatError(f"{path}: expected a list of per-person dicts, got {type(data).__name__}")
    for i, record in enumerate(data):
        missing = [k for k in ("magnitude", "phase", "time", "people") if k not in record]
        if missing:
            raise PublishedFormatError(f"{path}: record {i}: missing key(s) {', '.join(missing)}")
    return data


#: Subcarriers per row in the published pickles (LLTF -26..-1, +1..+26).
SUBCARRIERS = 52
#: Largest |x|, |y| (m) of a published label: the same bound as for any positions table.
MAX_ABS_LABEL_M = MAX_ABS_FLOOR_M
_WRAP_US = float(1 << 32)


@dataclass
class PublishedRecord:
    """One person of a published pickle, pads turned into NaN (float64 / float32 arrays)."""

    people: str
    t_device_s: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray
    x_m: np.ndarray | None
    y_m: np.ndarray | None


def to_record(raw: dict, index: int, where: str) -> PublishedRecord:
    """Convert one published dict: -1000 pads become NaN; shapes, times and labels are checked.

    Raises:
        PublishedFormatError: no rows, not 52 subcarriers, rows that disagree in number,
            times (us) that are not finite or do not increase (32-bit counter wraps are
            unwrapped first), or a label that is not a finite floor position.
    """
    what = f"{where}: record {index}"
    people = _people(raw["people"], what)
    amplitude = _padded_matrix(raw["magnitude"], f"{what}: magnitude")
    phase = _padded_matrix(raw["phase"], f"{what}: phase")
    time_us = _times_us(raw["time"], f"{what}: time")
    if not (len(amplitude) == len(phase) == len(time_us)):
        raise PublishedFormatError(
            f"{what}: magnitude has {len(amplitude)} rows, phase {len(phase)}, time {len(time_us)}"
        )
    x = y = None
    if "x" in raw and "y" in raw:
        x, y = (_padded_vector(raw[k], len(time_us), f"{what}: {k}") for k in ("x", "y"))
    return PublishedRecord(people, time_us / 1e6, amplitude, phase, x, y)


def _people(value: object, what: str) -> str:
    """The person's name: text or a number, not empty."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise PublishedFormatError(f"{what}: people: expected a person's name, got {value!r:.60}")
    return str(value).strip()


def _as_float(values: object, dtype: type, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise PublishedFormatError(f"{what}: not an array of numbers ({err})") from err


def _times_us(values: object, what: str) -> np.ndarray:
    """Device times (us): finite and increasing once 32-bit counter wraps are unwrapped."""
    t = _as_float(values, np.float64, what).reshape(-1)
    if len(t) == 0:
        raise PublishedFormatError(f"{what}: no rows")
    bad = np.flatnonzero(~np.isfinite(t))
    if len(bad):
        raise PublishedFormatError(f"{what}: row {bad[0] + 1} (1-based) is {t[bad[0]]}, not a time in us")
    t = t + _WRAP_US * np.concatenate([[0], np.cumsum(np.diff(t) < -_WRAP_US / 2)])
    back = np.flatnonzero(np.diff(t) <= 0)
    if len(back):
        i = int(back[0]) + 1
        raise PublishedFormatError(
            f"{what}: row {i + 1} (1-based) is {t[i]:.0f} us, not later than row {i}'s {t[i - 1]:.0f} us: "
            "times must increase"
        )
    return t


def _padded_matrix(values: object, what: str) -> np.ndarray:
    matrix = _as_float(values, np.float32, what)
    if matrix.ndim != 2:
        raise PublishedFormatError(f"{what}: expected rows x subcarriers, got shape {matrix.shape}")
    if matrix.shape[1] != SUBCARRIERS:
        raise PublishedFormatError(
            f"{what}: {matrix.shape[1]} subcarriers per row; the published data has {SUBCARRIERS}"
        )
    matrix[(matrix == PAD).all(axis=1)] = np.nan
    return matrix


def _padded_vector(values: object, rows: int, what: str) -> np.ndarray:
    vector = _as_float(values, np.float64, what).reshape(-1)
    if len(vector) != rows:
        raise PublishedFormatError(f"{what}: {len(vector)} values for {rows} rows")
    vector[vector == PAD] = np.nan
    bad = np.flatnonzero(np.isinf(vector) | (np.abs(vector) > MAX_ABS_LABEL_M))
    if len(bad):
        raise PublishedFormatError(
            f"{what}: row {bad[0] + 1} (1-based) is {vector[bad[0]]:g}, not a floor position in m "
            f"(labels lie within {MAX_ABS_LABEL_M:g} m; -1000 marks none)"
        )
    return vector


def write_wiloc_pickle(path: str | os.PathLike[str], records: list[dict]) -> None:
    """Write records shaped like the published ``wiloc.pkl`` (see :func:`wiloc_record`)."""
    with atomic_open(path, "wb") as handle:
        pickle.dump(records, handle, protocol=4)


def wiloc_record(
    people: str,
    t_device_s: np.ndarray,
    amplitude: np.ndarray,
    phase: np.ndarray,
    x_m: np.ndarray,
    y_m: np.ndarray,
    frame: np.ndarray,
    lost: np.ndarray,
) -> dict:
    """One person in the published layout: lost packets (filled or not), rows without CSI and
    missing labels become -1000, as in the published file."""
    missing = np.asarray(lost, dtype=bool) | ~np.isfinite(amplitude).all(axis=1)
    magnitude = np.where(missing[:, None], PAD, amplitude).astype(np.float64)
    phases = np.where(missing[:, None], PAD, np.nan_to_num(phase)).astype(np.float64)
    unlabelled = ~(np.isfinite(x_m) & np.isfinite(y_m))
    return {
        "magnitude": magnitude,
        "phase": phases,
        "x": np.where(unlabelled, PAD, x_m).tolist(),
        "y": np.where(unlabelled, PAD, y_m).tolist(),
        "img_path": [PAD if f < 0 else f"frame_{int(f):06d}" for f in frame],
        "time": np.round(np.asarray(t_device_s) * 1e6),
        "people": people,
    }


def export_wiloc(dataset: Dataset, path: str | Path) -> int:
    """Write ``dataset`` as a ``wiloc.pkl``-shaped pickle (one record per session); returns the count.

    Lost packets (even where the data set filled them) and rows without CSI are
    padded with -1000 as in the published file, and so are missing labels; ``time``
    is the device clock in microseconds.
    """
    records = []
    for entry in dataset.manifest["sessions"]:
        rows = slice(*entry["rows"])
        frames = dataset.frames.iloc[rows]
        records.append(
            wiloc_record(
                entry["subject"] or entry["session"],
                frames["t_device"].to_numpy(np.float64),
                dataset.amplitude[rows],
                dataset.phase[rows],
                np.where(frames["label_valid"], frames["x_m"], np.nan),
                np.where(frames["label_valid"], frames["y_m"], np.nan),
                frames["frame"].to_numpy(np.int64),
                frames["lost"].to_numpy(bool),
            )
        )
    write_wiloc_pickle(path, records)
    return len(records)
