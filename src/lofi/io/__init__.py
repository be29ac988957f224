"""Readers and writers of every on-disk format the project touches."""

from lofi.io.esp32.reader import CsiLog, ReadReport, read_csi_log
from lofi.io.esp32.writer import write_esp_radar_csv

__all__ = ["CsiLog", "ReadReport", "read_csi_log", "write_esp_radar_csv"]
