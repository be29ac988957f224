"""Provenance of a derived table: which session (and which of its source files) it was made from.

Stored in the parquet file's schema metadata under ``lofi.provenance`` as JSON, so a stage
can refuse an input that belongs to another session (two folders named ``walk`` on two days).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

KEY = b"lofi.provenance"


def with_provenance(table: pa.Table, provenance: dict) -> pa.Table:
    """``table`` with ``provenance`` (a JSON-ready dict) added to its schema metadata."""
    metadata = dict(table.schema.metadata or {})
    metadata[KEY] = json.dumps(provenance, sort_keys=True).encode()
    return table.replace_schema_metadata(metadata)


def read_provenance(path: str | os.PathLike[str]) -> dict | None:
    """The provenance recorded in a parquet file, or None (a table from elsewhere, or older)."""
    try:
        metadata = pq.read_schema(Path(path)).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    try:
        value = json.loads(metadata[KEY]) if KEY in metadata else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
