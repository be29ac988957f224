"""Synthetic recording sessions: scene, motion, camera video, ESP32 CSI, timing and truth."""
