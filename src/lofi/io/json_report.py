"""JSON reports and file hashes: written atomically, read with errors that name the file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from lofi.io.atomic import atomic_open


class JsonFileError(ValueError):
    """A JSON report is missing, not valid JSON, or not an object."""


def write_json(path: str | os.PathLike[str], data: dict) -> None:
    """Write a JSON object atomically (keys in the given order, 2-space indent, no NaN)."""
    with atomic_open(path, "w") as handle:
        json.dump(data, handle, indent=2, allow_nan=False, default=_json_default)
        handle.write("\n")


def read_json(path: str | os.PathLike[str], hint: str = "") -> dict:
    """A JSON object from ``path``; ``hint`` says how to make a missing file."""
    path = Path(path)
    if not path.is_file():
        raise JsonFileError(f"{path}: no such file{f' ({hint})' if hint else ''}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JsonFileError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise JsonFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


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
