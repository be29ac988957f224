"""ESP32 CSI logs: every esp-csi, esp-radar and ESP32-CSI-Tool layout, read (:mod:`.reader`) and
written (:mod:`.writer`); :mod:`.layouts` knows the layouts, :mod:`.lines` cleans raw serial
captures and :mod:`.arrow_csv` is the fast path for clean files."""
