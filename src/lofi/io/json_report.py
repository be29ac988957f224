"""JSON reports and file hashes: written atomically, read with errors that name the file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lofi.io.atomic import atomic_open


class JsonFileError(ValueError):
    """A JSON report is missing, not valid JSON, or not an object."""


def json_text(data: dict) -> str:
    """The text :func:`write_json` writes (2-space indent, newline at the end).

    Raises:
        ValueError: a value JSON cannot hold (NaN, infinity).
    """
    return json.dumps(data, indent=2, allow_nan=False, default=_json_default) + "\n"


def write_json(path: str | os.PathLike[str], data: dict) -> None:
    """Write a JSON object atomically (keys in the given order, 2-space indent, no NaN)."""
    with json_after(path, data):
        pass


@contextlib.contextmanager
def json_after(path: str | os.PathLike[str], data: dict) -> Iterator[None]:
    """Write ``data`` to ``path`` once the block has written the files it reports on.

    The JSON is serialised before the block runs (a value JSON cannot hold fails before
    anything is written) and renamed into place after it: if the block fails, no new
    JSON appears, and an old one is left with the old files it described.
    """
    try:
        text = json_text(data)
    except ValueError as err:
        raise JsonFileError(f"{path}: cannot be written ({err})") from err
    if Path(path).is_dir():
        raise JsonFileError(
            f"{path}: is a folder, so the report cannot be written there; nothing was written"
        )
    with atomic_open(path, "w") as handle:
        handle.write(text)
        yield


def json_safe(value: object) -> object:
    """``value`` with every NaN or infinite float (also inside dicts and lists) replaced by None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return value


def read_json(path: str | os.PathLike[str], hint: str = "") -> dict:
    """A JSON object from ``path``; ``hint`` says how to make a missing file.

    NaN and Infinity (accepted by Python, not JSON) are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise JsonFileError(f"{path}: no such file{f' ({hint})' if hint else ''}")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError, NaN
        raise JsonFileError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise JsonFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
