"""ESP32 CSI log layouts: CSV headers, column aliases and CSI buffer maps.

Two kinds of layout live here.

*Log layouts* are the CSV shapes the capture tools print (which columns, in which
order). The reader picks columns by header name; for header-less captures it
recognises the layout from the number of fields before the data array.

*Buffer layouts* say which subcarrier each int8 pair of the ``data`` array holds.
Each subcarrier is two int8 values, **imaginary first, then real** (ESP-IDF
``wifi-vendor-features.rst``). Blocks come in the order LLTF, HT-LTF, STBC-HT-LTF.
Subcarrier indices are relative to the centre of the primary 20 MHz channel for
the LLTF block (so -26..-1, +1..+26 are always the 52 useful LLTF subcarriers) and
follow the ESP-IDF table's numbering for the HT blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Canonical name for each column name spelling seen in the wild.
COLUMN_ALIASES: dict[str, str] = {
    "id": "seq",
    "cwb": "bandwidth",
    "channel_primary": "channel",
    "channel_secondary": "secondary_channel",
    "first_word": "first_word_invalid",
    "CSI_DATA": "data",
    "taget_seq": "target_seq",
    "taget": "target",
    "timestamp": "host_timestamp",
}

ESP_CSI_HEADER = (
    "type,id,mac,rssi,rate,sig_mode,mcs,bandwidth,smoothing,not_sounding,aggregation,"
    "stbc,fec_coding,sgi,noise_floor,ampdu_cnt,channel,secondary_channel,local_timestamp,"
    "ant,sig_len,rx_state,len,first_word,data"
)
ESP_CSI_C5C6_HEADER = (
    "type,seq,mac,rssi,rate,noise_floor,fft_gain,agc_gain,channel,local_timestamp,"
    "sig_len,rx_state,len,first_word,data"
)
ESP_RADAR_HEADER = (
    "type,seq,timestamp,taget_seq,taget,mac,rssi,rate,sig_mode,mcs,cwb,smoothing,"
    "not_sounding,aggregation,stbc,fec_coding,sgi,noise_floor,ampdu_cnt,channel_primary,"
    "channel_secondary,local_timestamp,ant,sig_len,rx_state,len,first_word_invalid,data"
)
CSI_TOOL_HEADER = (
    "type,role,mac,rssi,rate,sig_mode,mcs,bandwidth,smoothing,not_sounding,aggregation,"
    "stbc,fec_coding,sgi,noise_floor,ampdu_cnt,channel,secondary_channel,local_timestamp,"
    "ant,sig_len,rx_state,real_time_set,real_timestamp,len,CSI_DATA"
)

#: Layout name -> header as the tool prints it.
KNOWN_HEADERS: dict[str, str] = {
    "esp-csi": ESP_CSI_HEADER,
    "esp-csi-c5c6": ESP_CSI_C5C6_HEADER,
    "esp-radar": ESP_RADAR_HEADER,
    "esp32-csi-tool": CSI_TOOL_HEADER,
}

#: Columns parsed as integers, floats and host timestamps (canonical names).
INT_COLUMNS = frozenset(
    [
        "seq",
        "target_seq",
        "rssi",
        "rate",
        "sig_mode",
        "mcs",
        "bandwidth",
        "smoothing",
        "not_sounding",
        "aggregation",
        "stbc",
        "fec_coding",
        "sgi",
        "noise_floor",
        "ampdu_cnt",
        "channel",
        "secondary_channel",
        "local_timestamp",
        "ant",
        "sig_len",
        "rx_state",
        "len",
        "first_word_invalid",
        "fft_gain",
        "agc_gain",
        "real_time_set",
    ]
)
FLOAT_COLUMNS = frozenset({"real_timestamp"})
HOST_TIME_COLUMN = "host_timestamp"
MAC_COLUMN = "mac"
DEVICE_TIME_COLUMN = "local_timestamp"

#: Fields a CSI row can do without, and the reason counted when one does not parse:
#: the value becomes NaN (missing, for text) and the row is kept. A bad value in any
#: other typed field (the device counter ``local_timestamp``, the int64 radio
#: metadata) drops the row, as does a bad data array.
OPTIONAL_FIELDS: dict[str, str] = {
    HOST_TIME_COLUMN: "bad_host_time",
    MAC_COLUMN: "bad_mac",
    "real_timestamp": "bad_real_timestamp",
}


def canonical_columns(header_fields: list[str]) -> list[str]:
    """Map header field names to canonical names (unknown names pass through).

    A name that repeats (a damaged header) keeps its first use; later ones get a
    ``_2``, ``_3``... suffix so that every column stays addressable.
    """
    out: list[str] = []
    for field in header_fields:
        name = COLUMN_ALIASES.get(field.strip(), field.strip())
        candidate, k = name, 1
        while candidate in out:
            k += 1
            candidate = f"{name}_{k}"
        out.append(candidate)
    return out


def classify_header(columns: list[str]) -> str:
    """Name the log layout a (canonical) header belongs to; ``custom`` if none fits."""
    cols = set(columns)
    if "role" in cols or "real_timestamp" in cols:
        return "esp32-csi-tool"
    if "host_timestamp" in cols and "target" in cols:
        return "esp-radar"
    if "fft_gain" in cols and "sig_mode" not in cols:
        return "esp-csi-c5c6"
    if "sig_mode" in cols:
        return "esp-csi"
    return "custom"


#: Header-less rows: number of fields before the data array -> layout name.
LAYOUT_BY_PREFIX_FIELDS: dict[int, str] = {
    len(header.split(",")) - 1: name for name, header in KNOWN_HEADERS.items()
}


def header_columns(layout: str) -> list[str]:
    """Canonical columns of a known layout."""
    return canonical_columns(KNOWN_HEADERS[layout].split(","))


#: Layouts whose capture tool runs only on the original ESP32, whose hardware
#: invalidates the first four bytes of the buffer, but which print no flag for it.
FIRST_WORD_INVALID_BY_DEFAULT = frozenset({"esp32-csi-tool"})

# ---------------------------------------------------------------------------------
# Buffer layouts
# ---------------------------------------------------------------------------------

#: The 52 useful LLTF subcarriers in the order the project exposes them.
LLTF_USEFUL = np.array(list(range(-26, 0)) + list(range(1, 27)), dtype=np.int16)


def _span(first: int, last: int) -> list[int]:
    return list(range(first, last + 1))


_HT20 = _span(0, 31) + _span(-32, -1)  # a 20 MHz block: 0..31 then -32..-1
_HT40 = _span(0, 63) + _span(-64, -1)
_HT40_STBC = _span(0, 60) + _span(-60, -1)


@dataclass(frozen=True)
class Block:
    """One training-field block of a CSI buffer: its name and subcarrier per pair."""

    name: str
    subcarriers: tuple[int, ...]


def _blocks(*pairs: tuple[str, list[int]]) -> tuple[Block, ...]:
    return tuple(Block(name, tuple(sc)) for name, sc in pairs)


# Classic chips (ESP32, S2, S3, C3), keyed by (secondary channel set?, value count).
# LLTF indices for a set secondary channel are already converted from the 40 MHz
# numbering of the ESP-IDF table (below: 0..63, above: -64..-1) to the primary
# channel's own numbering, which is -32..31 in both cases.
_PRIMARY = _span(-32, 31)
_CLASSIC: dict[tuple[bool, int], tuple[Block, ...]] = {
    (False, 104): _blocks(("lltf", list(LLTF_USEFUL))),
    (False, 128): _blocks(("lltf", _HT20)),
    (False, 256): _blocks(("lltf", _HT20), ("htltf", _HT20)),
    (False, 384): _blocks(("lltf", _HT20), ("htltf", _HT20), ("stbc_htltf", _HT20)),
    (True, 104): _blocks(("lltf", list(LLTF_USEFUL))),
    (True, 128): _blocks(("lltf", _PRIMARY)),
    (True, 256): _blocks(("lltf", _PRIMARY), ("htltf", _PRIMARY)),
    (True, 380): _blocks(("lltf", _PRIMARY), ("htltf", _span(0, 62)), ("stbc_htltf", _span(0, 62))),
    (True, 376): _blocks(("lltf", _PRIMARY), ("htltf", _span(-62, -1)), ("stbc_htltf", _span(-62, -1))),
    (True, 384): _blocks(("lltf", _PRIMARY), ("htltf", _HT40)),
    (True, 612): _blocks(("lltf", _PRIMARY), ("htltf", _HT40_STBC), ("stbc_htltf", _HT40_STBC)),
}

# ESP32-C5/C6 buffers, keyed by value count. Order as Espressif's own C5/C6 parsers
# read them: ascending subcarrier index with DC in the middle (8-bit LLTF mode).
_C5C6: dict[int, tuple[Block, ...]] = {
    106: _blocks(("lltf", _span(-26, 26))),
    114: _blocks(("htltf", _span(-28, 28))),
    128: _blocks(("lltf", _span(-32, 31))),
    228: _blocks(("htltf", _span(-28, 28)), ("stbc_htltf", _span(-28, 28))),
    234: _blocks(("htltf", _span(-58, 58))),
    256: _blocks(("htltf", _span(-64, 63))),
    468: _blocks(("htltf", _span(-58, 58)), ("stbc_htltf", _span(-58, 58))),
    490: _blocks(("heltf", _span(-122, 122))),
    512: _blocks(("heltf", _span(-128, 127))),
}

CLASSIC_LENGTHS = frozenset(n for _, n in _CLASSIC)
C5C6_LENGTHS = frozenset(_C5C6)


def known_lengths(layout: str) -> frozenset[int]:
    """Value counts that form a complete buffer in ``layout``."""
    return C5C6_LENGTHS if layout == "esp-csi-c5c6" else CLASSIC_LENGTHS


def buffer_blocks(layout: str, n_values: int, secondary: bool) -> tuple[Block, ...] | None:
    """Blocks of a buffer with ``n_values`` int8 values, or ``None`` if unknown.

    ``secondary`` tells whether the receiver had a secondary (HT40) channel set;
    it only matters for the classic chips.
    """
    if layout == "esp-csi-c5c6":
        return _C5C6.get(n_values)
    if not secondary and n_values in (376, 380, 612):
        return None
    return _CLASSIC.get((secondary, n_values))


def default_pairs(blocks: tuple[Block, ...]) -> np.ndarray:
    """Pair positions of subcarriers -26..-1, +1..+26 in the buffer's first block."""
    position = {sc: i for i, sc in enumerate(blocks[0].subcarriers)}
    return np.array([position[int(sc)] for sc in LLTF_USEFUL], dtype=np.int64)


def all_pairs(blocks: tuple[Block, ...]) -> tuple[list[str], np.ndarray]:
    """Names (``block:index``) and pair positions of every pair in the buffer."""
    names: list[str] = []
    for block in blocks:
        names.extend(f"{block.name}:{sc}" for sc in block.subcarriers)
    return names, np.arange(len(names), dtype=np.int64)


def subcarrier_names(indices: np.ndarray, block: str = "lltf") -> list[str]:
    """Names of the default subcarrier set, e.g. ``lltf:-26``."""
    return [f"{block}:{int(k)}" for k in indices]


def first_word_pairs(n_values: int, layout: str) -> np.ndarray:
    """Pair positions made invalid by ``first_word_invalid`` (raw bytes 0..3).

    In a raw buffer those are pairs 0 and 1. The 104-value esp-radar buffer keeps
    subcarriers -26..-1, +1..+26 and has dropped raw pair 0, so only +1 (position
    26) is affected. C5/C6 buffers carry no such flag in practice.
    """
    if layout == "esp-csi-c5c6":
        return np.array([0, 1], dtype=np.int64)
    if n_values == 104:
        return np.array([26], dtype=np.int64)
    return np.array([0, 1], dtype=np.int64)
