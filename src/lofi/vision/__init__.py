"""Vision labels: person detectors, eq. (1) selection, calibration, floor positions, label quality."""
