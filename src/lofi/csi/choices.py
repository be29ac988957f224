"""Named choices of the CSI library, importable without numpy or scipy (the CLI's parser uses them)."""

#: Gap-filling methods of :func:`lofi.csi.fill.fill_rows` (csibert needs a CSI-BERT checkpoint).
FILL_METHODS = ("linear", "spline", "none", "csibert")

#: Highest ping rate f2 (Hz) accepted from --rate-hz or session.yaml. An ESP32 prints each CSI
#: row (~600 characters for 52 subcarriers) over a serial line: 921 600 baud carries ~150 rows/s,
#: and even 3 Mbaud under 1 000; the LoFi recordings use 100 Hz. Ten times the fastest rate an
#: ESP32 can log still leaves a 60-s gap at most 600 000 inserted rows, so a rate typed in the
#: wrong unit is refused instead of allocating gigabytes.
MAX_RATE_HZ = 10_000.0

#: Settings of --keep-sig-modes besides a list of sig_mode values: ``auto`` tells beacons from the
#: ping stream by their timing (:mod:`lofi.csi.beacons`), ``dominant`` keeps the most frequent
#: sig_mode only, ``all`` keeps every sig_mode.
SIG_MODE_SETTINGS = ("auto", "dominant", "all")
#: The default of --keep-sig-modes (lofi csi, predict, track; the pipeline's csi.keep_sig_modes).
DEFAULT_KEEP_SIG_MODES = "auto"
#: sig_mode values an ESP32 logs: 0 non-HT (11b/g), 1 HT (11n), 3 VHT (11ac, later chips).
SIG_MODE_VALUES = (0, 1, 2, 3)


def parse_keep_sig_modes(text: str) -> str:
    """``auto``, ``dominant``, ``all``, or a comma-separated list of sig_mode values such as ``0,1``
    (returned sorted, without repeats: ``1,0,1`` -> ``0,1``).

    Raises:
        ValueError: anything else, with what is accepted.
    """
    value = str(text).strip().lower()
    if value in SIG_MODE_SETTINGS:
        return value
    parts = [p.strip() for p in value.split(",")]
    if not value or not all(p.isdigit() and int(p) in SIG_MODE_VALUES for p in parts):
        raise ValueError(
            f"{text!r} is not a sig_mode setting: give {', '.join(SIG_MODE_SETTINGS)} or a comma-separated "
            f"list of sig_mode values ({', '.join(map(str, SIG_MODE_VALUES))}), e.g. 0,1"
        )
    return ",".join(str(v) for v in sorted({int(p) for p in parts}))
