"""Named choices of the CSI library, importable without numpy or scipy (the CLI's parser uses them)."""

#: Gap-filling methods of :func:`lofi.csi.fill.fill_rows` (csibert needs a CSI-BERT checkpoint).
FILL_METHODS = ("linear", "spline", "none", "csibert")

#: Highest ping rate f2 (Hz) accepted from --rate-hz or session.yaml. An ESP32 prints each CSI
#: row (~600 characters for 52 subcarriers) over a serial line: 921 600 baud carries ~150 rows/s,
#: and even 3 Mbaud under 1 000; the LoFi recordings use 100 Hz. Ten times the fastest rate an
#: ESP32 can log still leaves a 60-s gap at most 600 000 inserted rows, so a rate typed in the
#: wrong unit is refused instead of allocating gigabytes.
MAX_RATE_HZ = 10_000.0
