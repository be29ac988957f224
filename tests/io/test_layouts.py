"""Buffer layouts: every known length maps each int8 pair to one named subcarrier."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.io.esp32.layouts import (
    C5C6_LENGTHS,
    CLASSIC_LENGTHS,
    KNOWN_HEADERS,
    LLTF_USEFUL,
    buffer_blocks,
    canonical_columns,
    classify_header,
    default_pairs,
    first_word_pairs,
)


@pytest.mark.parametrize("secondary", [False, True])
@pytest.mark.parametrize("n_values", sorted(CLASSIC_LENGTHS))
def test_classic_blocks_cover_the_whole_buffer(n_values, secondary):
    blocks = buffer_blocks("esp-csi", n_values, secondary)
    if blocks is None:  # 376/380/612 exist only with a secondary channel
        assert not secondary and n_values in (376, 380, 612)
        return
    assert sum(len(b.subcarriers) for b in blocks) * 2 == n_values
    assert blocks[0].name == "lltf"
    for block in blocks:
        assert len(set(block.subcarriers)) == len(block.subcarriers)


@pytest.mark.parametrize("n_values", sorted(C5C6_LENGTHS))
def test_c5c6_blocks_cover_the_whole_buffer(n_values):
    blocks = buffer_blocks("esp-csi-c5c6", n_values, False)
    assert sum(len(b.subcarriers) for b in blocks) * 2 == n_values


def test_default_set_is_lltf_minus26_to_26_without_dc():
    assert list(LLTF_USEFUL) == list(range(-26, 0)) + list(range(1, 27))
    pairs = default_pairs(buffer_blocks("esp-csi", 128, False))
    assert list(pairs[:3]) == [38, 39, 40] and list(pairs[-3:]) == [24, 25, 26]
    assert list(default_pairs(buffer_blocks("esp-csi", 128, True))[:2]) == [6, 7]
    assert list(default_pairs(buffer_blocks("esp-radar", 104, False))) == list(range(52))


def test_first_word_pairs():
    assert list(first_word_pairs(128, "esp-csi")) == [0, 1]
    assert list(first_word_pairs(104, "esp-radar")) == [26]  # subcarrier +1


@pytest.mark.parametrize("layout", sorted(KNOWN_HEADERS))
def test_headers_classify_as_their_layout(layout):
    assert classify_header(canonical_columns(KNOWN_HEADERS[layout].split(","))) == layout
    assert "data" in canonical_columns(KNOWN_HEADERS[layout].split(","))


def test_unknown_length_has_no_blocks():
    assert buffer_blocks("esp-csi", 127, False) is None
    assert np.all(np.diff(sorted(CLASSIC_LENGTHS)) > 0)
