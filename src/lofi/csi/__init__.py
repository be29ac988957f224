"""CSI processing: packet-loss detection (eq. 4), gap filling, phase sanitisation, alignment."""
