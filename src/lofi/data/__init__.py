"""Data sets: per-session ingest (CSI completion, alignment), the processed store, imports."""
