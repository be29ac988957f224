"""LoFi: vision-aided label generation and benchmarks for Wi-Fi (ESP32 CSI) localisation."""

__version__ = "0.1.0"
