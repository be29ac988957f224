"""Readers and writers of every on-disk format the project touches.

``read_csi_log``, ``CsiLog``, ``ReadReport`` and ``write_esp_radar_csv`` are imported on first use:
importing a light submodule (``lofi.io.names`` for the command line's parser) must not load
pandas and Arrow.
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it.
_EXPORTS = {
    "CsiLog": "lofi.io.esp32.reader",
    "ReadReport": "lofi.io.esp32.reader",
    "read_csi_log": "lofi.io.esp32.reader",
    "write_esp_radar_csv": "lofi.io.esp32.writer",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lofi.io' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
